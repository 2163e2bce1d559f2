package drsorch

// RecoveryPlan is an ordered set of waves run by an execution.
type RecoveryPlan struct {
	PlanID           string     `json:"planId"`
	PlanName         string     `json:"planName"`
	Description      string     `json:"description,omitempty"`
	AccountID        string     `json:"accountId,omitempty"`
	Waves            []PlanWave `json:"waves"`
	CreatedDate      int64      `json:"createdDate,omitempty"`
	LastModifiedDate int64      `json:"lastModifiedDate,omitempty"`
	Version          int64      `json:"version"`
}

// PlanWave is one wave of a plan: the servers of its protection groups, launched together.
type PlanWave struct {
	WaveNumber         int      `json:"waveNumber"`
	WaveName           string   `json:"waveName"`
	WaveDescription    string   `json:"waveDescription,omitempty"`
	ProtectionGroupID  string   `json:"protectionGroupId,omitempty"`
	ProtectionGroupIDs []string `json:"protectionGroupIds,omitempty"`
	ServerIDs          []string `json:"serverIds,omitempty"`
	PauseBeforeWave    bool     `json:"pauseBeforeWave"`
	DependsOnWaves     []int    `json:"dependsOnWaves,omitempty"`
	TimeoutSeconds     int64    `json:"timeoutSeconds,omitempty"`
}

// GroupIDs returns the wave's protection groups: protectionGroupId first, then
// protectionGroupIds, without duplicates or empties.
func (w PlanWave) GroupIDs() []string {
	return groupIDs(w.ProtectionGroupID, w.ProtectionGroupIDs)
}

func groupIDs(one string, many []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range append([]string{one}, many...) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Wave returns the plan wave with the given number.
func (p *RecoveryPlan) Wave(number int) (PlanWave, bool) {
	for _, w := range p.Waves {
		if w.WaveNumber == number {
			return w, true
		}
	}
	return PlanWave{}, false
}
