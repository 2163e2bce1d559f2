package httpapi

import (
	"net/http"

	"github.com/drsorch/drsorch"
)

// GroupBody is a protection group as the API shows and accepts it: the record
// plus the replaced system's `protectionGroupId` alias of `groupId`.
type GroupBody struct {
	drsorch.ProtectionGroup
	ProtectionGroupID string `json:"protectionGroupId,omitempty"`
}

func groupBody(g *drsorch.ProtectionGroup) GroupBody {
	return GroupBody{ProtectionGroup: *g, ProtectionGroupID: g.GroupID}
}

// GroupList is the answer of GET /protection-groups.
type GroupList struct {
	Groups []GroupBody `json:"groups"`
	Count  int         `json:"count"`
}

// PlanList is the answer of GET /recovery-plans.
type PlanList struct {
	RecoveryPlans []drsorch.RecoveryPlan `json:"recoveryPlans"`
	Count         int                    `json:"count"`
}

// Deleted is the answer of a DELETE of a group or plan.
type Deleted struct {
	Message string `json:"message"`
	GroupID string `json:"groupId,omitempty"`
	PlanID  string `json:"planId,omitempty"`
}

// pathID checks that an id given in the body agrees with the path.
func pathID(param, path string, body ...string) error {
	for _, b := range body {
		if b != "" && b != path {
			return invalidParam(param, "%s %q in the body does not match %q in the path", param, b, path)
		}
	}
	return nil
}

func (a *api) readGroup(r *http.Request) (*drsorch.ProtectionGroup, error) {
	var b GroupBody
	if err := a.decodeBody(r, &b, true); err != nil {
		return nil, err
	}
	g := b.ProtectionGroup
	switch {
	case g.GroupID == "":
		g.GroupID = b.ProtectionGroupID
	case b.ProtectionGroupID != "" && b.ProtectionGroupID != g.GroupID:
		return nil, invalidParam("protectionGroupId", "protectionGroupId %q and groupId %q differ", b.ProtectionGroupID, g.GroupID)
	}
	return &g, nil
}

func (a *api) listGroups(r *http.Request) (int, any, error) {
	gs, err := a.e.ListGroups(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := GroupList{Groups: make([]GroupBody, 0, len(gs))}
	for i := range gs {
		out.Groups = append(out.Groups, groupBody(&gs[i]))
	}
	out.Count = len(out.Groups)
	return http.StatusOK, out, nil
}

func (a *api) getGroup(r *http.Request) (int, any, error) {
	id, err := recordID(r, "groupId")
	if err != nil {
		return 0, nil, err
	}
	g, err := a.e.GetGroup(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, groupBody(g), nil
}

func (a *api) createGroup(r *http.Request) (int, any, error) {
	g, err := a.readGroup(r)
	if err != nil {
		return 0, nil, err
	}
	if g, err = a.e.SaveGroup(r.Context(), g, true); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, groupBody(g), nil
}

func (a *api) updateGroup(r *http.Request) (int, any, error) {
	id, err := recordID(r, "groupId")
	if err != nil {
		return 0, nil, err
	}
	g, err := a.readGroup(r)
	if err != nil {
		return 0, nil, err
	}
	if err := pathID("groupId", id, g.GroupID); err != nil {
		return 0, nil, err
	}
	g.GroupID = id
	if _, err := a.e.GetGroup(r.Context(), id); err != nil {
		return 0, nil, err
	}
	if g, err = a.e.SaveGroup(r.Context(), g, false); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, groupBody(g), nil
}

func (a *api) deleteGroup(r *http.Request) (int, any, error) {
	id, err := recordID(r, "groupId")
	if err != nil {
		return 0, nil, err
	}
	if err := a.e.DeleteGroup(r.Context(), id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Deleted{Message: "Protection Group " + id + " deleted", GroupID: id}, nil
}

func (a *api) listPlans(r *http.Request) (int, any, error) {
	ps, err := a.e.ListPlans(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, PlanList{RecoveryPlans: ps, Count: len(ps)}, nil
}

func (a *api) getPlan(r *http.Request) (int, any, error) {
	id, err := recordID(r, "planId")
	if err != nil {
		return 0, nil, err
	}
	p, err := a.e.GetPlan(r.Context(), id)
	return http.StatusOK, p, err
}

func (a *api) createPlan(r *http.Request) (int, any, error) {
	var p drsorch.RecoveryPlan
	if err := a.decodeBody(r, &p, true); err != nil {
		return 0, nil, err
	}
	res, err := a.e.SavePlan(r.Context(), &p, true)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, res, nil
}

func (a *api) updatePlan(r *http.Request) (int, any, error) {
	id, err := recordID(r, "planId")
	if err != nil {
		return 0, nil, err
	}
	var p drsorch.RecoveryPlan
	if err := a.decodeBody(r, &p, true); err != nil {
		return 0, nil, err
	}
	if err := pathID("planId", id, p.PlanID); err != nil {
		return 0, nil, err
	}
	p.PlanID = id
	if _, err := a.e.GetPlan(r.Context(), id); err != nil {
		return 0, nil, err
	}
	res, err := a.e.SavePlan(r.Context(), &p, false)
	return http.StatusOK, res, err
}

func (a *api) deletePlan(r *http.Request) (int, any, error) {
	id, err := recordID(r, "planId")
	if err != nil {
		return 0, nil, err
	}
	if err := a.e.DeletePlan(r.Context(), id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Deleted{Message: "Recovery Plan " + id + " deleted", PlanID: id}, nil
}
