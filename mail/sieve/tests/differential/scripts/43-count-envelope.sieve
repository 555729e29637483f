require ["fileinto", "envelope", "relational", "comparator-i;ascii-numeric", "variables", "imap4flags"];
if envelope :count "eq" :comparator "i;ascii-numeric" ["from", "to"] "2" { fileinto "Env2"; }
if envelope :matches :localpart "from" "*" { set "who" "${1}"; }
if string :count "ge" :comparator "i;ascii-numeric" ["${who}", "", "z"] "2" { fileinto "StrCount"; }
addflag ["\\Seen", "$A $B"];
if hasflag :matches "$*" { fileinto "HasDollar"; }
if hasflag :count "eq" :comparator "i;ascii-numeric" "3" { fileinto "ThreeFlags"; }
removeflag "$a";
if hasflag :contains "$" { fileinto :flags "" "EmptyFlags"; }
