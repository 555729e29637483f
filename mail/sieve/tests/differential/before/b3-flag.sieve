require "imap4flags";
addflag "$Checked";
if header :contains "subject" "photos" { addflag "\\Flagged"; }
