package native

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/beam"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// erlangOTP reports Erlang/OTP for the BEAM emulator (beam.smp) and the OTP
// release of the installation it belongs to: the installation is the one
// around the executable (<root>/erts-<v>/bin/beam.smp), the release the
// one releases/start_erl.data starts with that ERTS, and its version the
// release's OTP_VERSION ("25.2.3").
func init() { detect.Register(erlangOTP) }

var erlangOTP = detect.Detector{
	Name:         "erlang-otp",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Applies:      isBEAM,
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		file, exe, err := runningExecutable(env)
		if err != nil {
			return contract.Finding{}, err
		}
		file.Close()
		root, erts, ok := beam.ErtsDir(exe)
		if !ok {
			return contract.Finding{}, nil // not laid out as OTP lays out its emulator
		}
		f := contract.Finding{Kind: "Erlang/OTP"}
		f.KindVersion, err = otpVersion(env, root, erts)
		return f, err
	},
}

// isBEAM selects the emulator by its name: "beam.smp" (and "beam", the
// emulator without SMP of older releases).
func isBEAM(r fingerprint.Request) bool {
	p := r.Process
	for _, name := range []string{"beam.smp", "beam"} {
		if p.Name == name || p.Exe != "" && path.Base(p.Exe) == name {
			return true
		}
	}
	return false
}

func otpVersion(env detect.Env, root, erts string) (string, error) {
	data, err := env.Root.ReadFile(path.Join(root, "releases", "start_erl.data"), beam.MaxSmallFile)
	if err != nil {
		return "", err
	}
	startErts, release, err := beam.StartErlData(data)
	if err != nil {
		return "", err
	}
	if startErts != erts {
		return "", fmt.Errorf("start_erl.data names ERTS %s, the emulator is ERTS %s", startErts, erts)
	}
	data, err = env.Root.ReadFile(path.Join(root, "releases", release, "OTP_VERSION"), beam.MaxSmallFile)
	if err != nil {
		return "", err
	}
	v, ok := beam.OTPVersion(data)
	if !ok {
		return "", errors.New("OTP_VERSION holds no version")
	}
	return v, nil
}
