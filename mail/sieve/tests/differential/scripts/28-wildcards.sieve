require ["fileinto", "variables"];
if header :matches "subject" "*order 47?1" { fileinto "Q1"; }
if header :matches "subject" "*\\[*\\]*" { fileinto "Brackets.${2}"; }
if header :matches "message-id" "<*-?@*>" { fileinto "Id.${1}.${2}"; }
if header :matches "subject" "\\*" { fileinto "Star"; }
