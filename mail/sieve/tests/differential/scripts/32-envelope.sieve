require ["envelope", "fileinto"];
if envelope :domain :is "from" "bad.example" { fileinto "BadSender"; }
if envelope :localpart :contains "from" "bounce" { fileinto "Bounces"; }
if envelope :all :is "to" "bob@example.com" { fileinto "PlainBob"; }
