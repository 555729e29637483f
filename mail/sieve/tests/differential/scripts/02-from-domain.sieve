require "fileinto";
if address :domain :is "from" "example.org" {
    fileinto "Friends";
} elsif address :domain :is "from" "example.com" {
    fileinto "Work";
} else {
    keep;
}
