require ["variables", "fileinto", "mailbox", "relational", "comparator-i;ascii-numeric"];
if address :localpart :matches "from" "*" { set :lower "who" "${1}"; }
set :upperfirst "box" "${who}";
if header :matches "subject" "*" { set :length "len" "${1}"; }
if string :value "gt" :comparator "i;ascii-numeric" "${len}" "20" { set "box" "${box}-long"; }
fileinto :create "From.${box}";
