require ["fileinto", "variables", "mailbox"];
if header :matches "List-Id" "*<*.lists.*>" {
    fileinto :create "lists.${2}";
    stop;
}
if header :matches "Subject" "[*] *" {
    fileinto :create "tag.${1}";
}
