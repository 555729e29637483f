require ["fileinto", "imap4flags"];
keep;
fileinto "INBOX";
fileinto "Archive";
fileinto "Archive";
if exists "X-Spam" { fileinto :flags "\\Seen" "Archive"; }
redirect "copy@example.net";
redirect "copy@example.net";
