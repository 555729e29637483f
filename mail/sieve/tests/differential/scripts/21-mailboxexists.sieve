require ["mailbox", "fileinto"];
if mailboxexists "NoSuchFolder" { fileinto "Exists"; } else { fileinto :create "Created"; }
if mailboxexists "INBOX" { keep; }
