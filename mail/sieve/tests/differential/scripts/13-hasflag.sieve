require ["imap4flags", "fileinto"];
if header :contains "subject" ["invoice", "photos"] { addflag "$Important"; }
if hasflag :is "$important" { fileinto :flags ["\\Seen", "\\Answered"] "Important"; }
if not hasflag :contains "imp" { fileinto "Unimportant"; }
keep :flags "\\Draft";
