require "imap4flags";
setflag "\\Flagged";
addflag ["\\Seen", "$Work"];
if header :contains "subject" "hello" { removeflag "\\Flagged"; }
if exists "List-Id" { removeflag ["$Work", "\\Seen"]; addflag "$List"; }
