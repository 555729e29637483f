require ["editheader", "index", "fileinto", "variables"];
deleteheader :index 1 "received";
if header :index 1 :matches "received" "from *" { fileinto "NowFirst.${1}"; }
deleteheader :index 1 :last :contains "x-multi" "three";
if header :index 1 :last :is "x-multi" "two" { fileinto "MultiLastTwo"; }
addheader :last "X-Added" "z";
if header :index 1 :last :is "x-added" "z" { fileinto "AddedLast"; }
