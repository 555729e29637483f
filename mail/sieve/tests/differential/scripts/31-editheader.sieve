require ["editheader", "fileinto"];
addheader "X-Sieve-Seen" "yes";
if header :is "X-Sieve-Seen" "yes" { fileinto "Edited"; }
deleteheader "X-Spam";
if not exists "X-Spam" { fileinto "NoSpamHeader"; }
