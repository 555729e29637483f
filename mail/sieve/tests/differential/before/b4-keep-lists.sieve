require "imap4flags";
if exists "list-id" { addflag "$List"; keep; }
