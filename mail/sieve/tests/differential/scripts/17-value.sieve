require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "lt" :comparator "i;ascii-numeric" "x-priority" "3" { fileinto "High"; }
elsif header :value "gt" :comparator "i;ascii-numeric" "x-priority" "3" { fileinto "Low"; }
if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "10" { fileinto "VerySpammy"; }
if header :value "gt" "subject" "m" { fileinto "SubjectAfterM"; }
