package drssim

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/drsorch/drsorch"
)

// The DRS exception names a Sim returns or can be scripted to return.
const (
	ThrottlingException           = "ThrottlingException"
	ServiceQuotaExceededException = "ServiceQuotaExceededException"
	ConflictException             = "ConflictException"
	ValidationException           = "ValidationException"
	ResourceNotFoundException     = "ResourceNotFoundException"
	InternalServerException       = "InternalServerException"
	AccessDeniedException         = "AccessDeniedException"
	UninitializedAccountException = "UninitializedAccountException"
)

// errorCodes maps DRS exception names to drsorch error codes.
var errorCodes = map[string]string{
	ThrottlingException:           drsorch.CodeDRSThrottled,
	ServiceQuotaExceededException: drsorch.CodeDRSQuota,
	ConflictException:             drsorch.CodeDRSConflict,
	ValidationException:           drsorch.CodeDRSValidation,
	ResourceNotFoundException:     drsorch.CodeDRSNotFound,
	InternalServerException:       drsorch.CodeDRSInternal,
	AccessDeniedException:         drsorch.CodeDRSAccess,
	UninitializedAccountException: drsorch.CodeDRSAccess,
}

// ErrorNames lists the DRS exception names a Fault may use.
var ErrorNames = []string{
	ThrottlingException, ServiceQuotaExceededException, ConflictException, ValidationException,
	ResourceNotFoundException, InternalServerException, AccessDeniedException, UninitializedAccountException,
}

// ErrorCode returns the drsorch code of a DRS exception name (DRS_ERROR for unknown names).
func ErrorCode(awsName string) string {
	if c, ok := errorCodes[awsName]; ok {
		return c
	}
	return drsorch.CodeDRS
}

// AWSErrorName returns the DRS exception name carried by err (Details["awsError"]),
// "" for nil, and "InternalServerException" for an error that carries none.
func AWSErrorName(err error) string {
	if err == nil {
		return ""
	}
	var e *drsorch.Error
	if errors.As(err, &e) {
		if n, ok := e.Details["awsError"].(string); ok && n != "" {
			return n
		}
	}
	return InternalServerException
}

// awsErr builds the error DRS returns: a *drsorch.Error with the DRS_* code and the exception name in Details["awsError"].
func awsErr(name, format string, args ...any) *drsorch.Error {
	return &drsorch.Error{
		Code:    ErrorCode(name),
		Message: fmt.Sprintf(format, args...),
		Details: map[string]any{"awsError": name},
	}
}

// fieldErr is a configuration error (fixtures, servers) naming the bad field.
func fieldErr(field, format string, args ...any) *drsorch.Error {
	return (&drsorch.Error{
		Code:    drsorch.CodeInvalidParameter,
		Message: field + ": " + fmt.Sprintf(format, args...),
	}).WithDetails(map[string]any{"field": field})
}

// Fault makes the next Times calls of an API fail with a DRS exception.
type Fault struct {
	// API is the operation name, e.g. "StartRecovery".
	API string `json:"api"`
	// Error is the exception name, e.g. "ThrottlingException" (see ErrorNames).
	Error string `json:"error"`
	// Times is how many calls fail; 0 means 1.
	Times int `json:"times,omitempty"`
	// SourceServerID, when set, limits the fault to calls involving that source server.
	SourceServerID string `json:"sourceServerID,omitempty"`
}

func (f Fault) validate(field string) error {
	if !slices.Contains(APIs, f.API) {
		return fieldErr(field+".api", "%q is not a DRS operation the simulator serves (%s)", f.API, strings.Join(APIs, ", "))
	}
	if !slices.Contains(ErrorNames, f.Error) {
		return fieldErr(field+".error", "%q is not a DRS exception (%s)", f.Error, strings.Join(ErrorNames, ", "))
	}
	if f.Times < 0 {
		return fieldErr(field+".times", "must not be negative, got %d", f.Times)
	}
	if f.SourceServerID != "" && !drsorch.ValidSourceServerID(f.SourceServerID) {
		return fieldErr(field+".sourceServerID", "%q is not a source server id", f.SourceServerID)
	}
	return nil
}

// AddFault scripts a fault; it is consumed by the next matching calls.
func (s *Sim) AddFault(f Fault) error {
	if err := f.validate("fault"); err != nil {
		return err
	}
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
	s.changed()
	s.persist()
	return nil
}

// Faults returns the scripted faults not yet consumed.
func (s *Sim) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault(nil), s.faults...)
}

// ClearFaults removes every scripted fault and pending FailLaunch.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.failLaunch = map[string]int{}
	s.changed()
	s.persist()
}

// takeFault consumes the first fault matching the call and returns its error.
func (s *Sim) takeFault(api string, servers func() []string) error {
	var involved []string
	for i := range s.faults {
		f := &s.faults[i]
		if f.API != api {
			continue
		}
		if f.SourceServerID != "" {
			if involved == nil {
				involved = servers()
			}
			if !slices.Contains(involved, f.SourceServerID) {
				continue
			}
		}
		name := f.Error
		f.Times--
		if f.Times <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		s.changed()
		return awsErr(name, "%s failed: scripted %s", api, name)
	}
	return nil
}
