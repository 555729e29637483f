require ["fileinto", "variables", "subaddress", "relational", "comparator-i;ascii-numeric"];
if address :localpart :is "from" "john.smith+promo" { fileinto "QuotedLocal"; }
if address :user :is "from" "john.smith" { fileinto "User"; }
if address :detail :is "from" "promo" { fileinto "Detail"; }
if address :domain :is "from" "sales.example.org" { fileinto "DomainCase"; }
if address :domain :comparator "i;octet" :is "from" "Sales.Example.ORG" { fileinto "DomainOctet"; }
if address :all :matches "from" "*@*" { fileinto "All.${1}"; }
if address :count "eq" :comparator "i;ascii-numeric" ["to", "cc", "bcc"] "5" { fileinto "Five"; }
if address :is "cc" "juergen@example.de" { fileinto "EncodedName"; }
if address :is "reply-to" "replies@example.org" { fileinto "ReplyTo"; }
