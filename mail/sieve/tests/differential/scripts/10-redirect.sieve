require "copy";
if header :contains "subject" "photos" { redirect "family@example.net"; }
if address :domain :is "from" "example.com" { redirect :copy "archive@example.com"; }
