require ["fileinto", "envelope", "subaddress", "variables"];
if envelope :detail :matches "to" "*" {
    fileinto "plus.${1}";
}
if address :user :is "to" "bob" { fileinto "UserBob"; }
if address :detail :is "to" "family" { fileinto "Family"; }
