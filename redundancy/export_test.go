package redundancy

// StateWrites returns how many times o has written its state file.
func StateWrites(o *Orchestrator) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.saves
}
