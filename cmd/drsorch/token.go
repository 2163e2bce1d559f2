package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/drsorch/drsorch/auth"
)

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("DRSORCH_DATA", defaultData), "data directory of `drsorch serve`, holding the signing key (env DRSORCH_DATA)")
	role := fs.String("role", "", "Cognito group the token carries (required)")
	user := fs.String("user", "", "user name, or an email address (default: derived from the group)")
	ttl := fs.Duration("ttl", auth.DefaultTTL, "how long the token is valid")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError("token takes no arguments (got %q)", pos)
	case *role == "":
		return usageError("token needs --role GROUP: %v", auth.CheckGroup(""))
	}
	if err := auth.CheckGroup(*role); err != nil {
		return usageError("%v", err)
	}
	if *ttl <= 0 || *ttl > auth.MaxTTL {
		return usageError("--ttl must be between 1s and %s", auth.MaxTTL)
	}
	key, err := auth.LoadKey(*data)
	if errors.Is(err, auth.ErrNoKey) {
		return fmt.Errorf("%s has no signing key yet: start `drsorch serve --data %s` once first", *data, *data)
	}
	if err != nil {
		return err
	}
	tok, err := key.Mint(auth.TokenRequest{Group: *role, User: *user, TTL: *ttl, Now: time.Now()})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
