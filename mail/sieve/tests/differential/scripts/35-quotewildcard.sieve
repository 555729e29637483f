require ["variables", "fileinto"];
if header :matches "subject" "*" { set :quotewildcard "subj" "${1}"; }
if header :matches "subject" "${subj}" { fileinto "SelfMatch"; }
set :upper "x" "abc";
set :lowerfirst "y" "ABC";
if string :is "${x}${y}" "ABCaBC" { fileinto "Mods"; }
