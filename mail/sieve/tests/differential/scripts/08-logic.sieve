require "fileinto";
if allof (header :contains "from" "example", not exists "List-Id") {
    fileinto "Personal";
}
if anyof (header :is "x-priority" "1", header :contains "importance" "high") {
    fileinto "Urgent";
}
if not anyof (true, false) { discard; }
if allof (true, not false) { keep; }
