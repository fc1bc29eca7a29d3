"""kopf's side of the operator. Importing `watching` registers the watch, start-up, login
and clean-up handlers; importing `webhooks` registers the admission webhooks."""
