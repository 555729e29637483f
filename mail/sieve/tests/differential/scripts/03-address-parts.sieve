require ["fileinto"];
if address :localpart :is ["to", "cc"] "bob" { fileinto "ToBob"; }
if address :all :contains "from" "lists" { fileinto "Lists"; }
if address :is :all "to" "bob@example.com" { fileinto "Direct"; }
