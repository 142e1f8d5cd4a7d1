package cri

// withEnv replaces the process environment Dial reads (nil: empty).
func withEnv(env map[string]string) Option {
	return func(o *options) { o.env = func(k string) string { return env[k] } }
}

// withDefaults replaces the default endpoints Dial tries.
func withDefaults(endpoints ...string) Option {
	return func(o *options) { o.defaults = endpoints }
}
