require ["variables", "fileinto"];
set "domain" "unknown";
if address :domain :matches "from" "*" { set :lower "domain" "${0}"; }
if string :is "${domain}" ["example.org", "example.com"] { fileinto "Known"; }
elsif string :matches "${domain}" "*.example*" { fileinto "SubKnown"; }
if string :contains ["${domain}", "x"] "shop" { fileinto "Shop"; }
