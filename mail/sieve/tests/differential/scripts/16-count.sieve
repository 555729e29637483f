require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { fileinto "ManyRecipients"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-priority" "0" { fileinto "NoPriority"; }
