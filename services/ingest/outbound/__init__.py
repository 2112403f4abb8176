"""The gateway's outbound direction: replies sent to the WhatsApp Cloud API, the Messenger
Send API and SMTP, each at most once per message id, within the providers' rate limits."""
