require "fileinto";
if header :contains "subject" ["invoice", "order"] {
    fileinto "Billing";
} elsif header :contains "Subject" "[dev]" {
    fileinto "Dev";
} elsif header :is "subject" "hello bob" {
    fileinto "Greetings";
} elsif header :contains "subject" "" {
    fileinto "Other";
}
