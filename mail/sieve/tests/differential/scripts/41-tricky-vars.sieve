require ["fileinto", "variables", "relational"];
set "a" "x";
set "A" "${a}y";
set "b" "${unterminated";
set "c" "${a}${A}${}${1x}${}";
if string :is "${a}" "xy" { fileinto "CaseInsensitiveVars"; }
if string :is "${b}" "${unterminated" { fileinto "Unterminated"; }
if string :is "${c}" "xyxy${}${1x}${}" { fileinto "BadRefs"; }
if header :matches "message-id" "<*-?@*.*>" { set "m" "${1}/${2}/${3}/${4}"; }
fileinto "MID.${m}";
set :length "l" "${m}";
if string :value "gt" "${l}" "1" { fileinto "LenStr"; }
