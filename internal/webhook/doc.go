// Package webhook holds what the webhook receivers of the providers share
// (ghactions.Webhook, netlify.Webhook): a Router from the key a delivery
// names (a repository, a site) to the event sources watching it, a bounded
// memory of deliveries already seen, and a throttle for warnings about bad
// requests. No user needs it directly.
package webhook
