package jobs

// Owner is the name this runner leases jobs under; tests forge a lease with it.
func (r *Runner) Owner() string { return r.owner }
