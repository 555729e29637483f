require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if address :is :domain "cc" "example.net" { fileinto "CcNet"; }
if address :count "eq" :comparator "i;ascii-numeric" "cc" "0" { fileinto "NoCc"; }
if address :all :is "cc" "jane@example.org" { fileinto "Jane"; }
