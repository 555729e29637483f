require ["fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
if header :is "subject" "[Team]   Weekly *status* report?" { fileinto "Trimmed"; }
if header :matches "subject" "[*]*" { fileinto "M.${1}"; }
if header :matches "subject" "*\\**\\**" { fileinto "Stars.${2}"; }
if header :contains "subject" "?" { fileinto "Question"; }
if header :is "x-empty" "" { fileinto "EmptyIs"; }
if exists "x-empty" { fileinto "EmptyExists"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-multi" "3" { fileinto "Multi3"; }
if header :value "eq" :comparator "i;ascii-numeric" "x-priority" "3" { fileinto "Prio3"; }
if header :value "gt" :comparator "i;ascii-numeric" "x-count" "9" { fileinto "Count>9"; }
if header :is "X-MULTI" "two" { fileinto "CaseName"; }
if header :matches "x-multi" "t*" { fileinto "T.${1}"; }
