package rekor

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
)

// TestMain lets the test binary act as a log server for the durability test.
func TestMain(m *testing.M) {
	if dir := os.Getenv("WAXSEAL_REKOR_CHILD"); dir != "" {
		childServe(dir)
		return
	}
	os.Exit(m.Run())
}

func childServe(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "key.pem"))
	if err != nil {
		panic(err)
	}
	blk, _ := pem.Decode(b)
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		panic(err)
	}
	l, err := Open(context.Background(), Config{Dir: filepath.Join(dir, "log"), Signer: key, Hostname: "log.test", TreeID: testTree})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	http.Serve(ln, l.Handler())
}

// TestKill9 appends from several goroutines to a log served by a child
// process, SIGKILLs it mid-load several times and restarts it on the same
// directory. Every acknowledged entry must survive with a valid proof, and
// every checkpoint must be consistent with the one before.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	key := testKey(t)
	der, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	logID, _ := tlog.LogID(&key.PublicKey)

	signer := newSigner(t, "kill@example.com")
	acked := map[string]int64{} // entry id -> index
	var mu sync.Mutex
	var prevSize uint64
	var prevRoot []byte

	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "WAXSEAL_REKOR_CHILD="+dir)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = nil
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		addr := ""
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				addr = a
				break
			}
		}
		go func() {
			for sc.Scan() {
			}
		}()
		if addr == "" {
			cmd.Process.Kill()
			t.Fatal("child did not start")
		}
		c := &tlogclient.Client{BaseURL: "http://" + addr, HTTPClient: &http.Client{Timeout: 5 * time.Second}}
		ctx := context.Background()

		// Everything acknowledged so far is still there and proves.
		mu.Lock()
		for id, idx := range acked {
			_, v, err := c.GetByUUID(ctx, id)
			if err != nil || v.LogIndex != idx {
				t.Fatalf("round %d: acknowledged entry %s (index %d) lost: %v", round, id, idx, err)
			}
			tle, _ := tlog.ToTLE(v)
			if _, err := tlog.VerifyTLE(tle, map[string]crypto.PublicKey{hex.EncodeToString(logID): &key.PublicKey}, tlog.VerifyOptions{RequireInclusionProof: true}); err != nil {
				t.Fatalf("round %d: entry %d: %v", round, idx, err)
			}
		}
		mu.Unlock()
		// The new tree head extends the previous one.
		info, err := c.LogInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, size, root, err := tlog.VerifyCheckpoint(&key.PublicKey, []byte(info.SignedTreeHead))
		if err != nil {
			t.Fatal(err)
		}
		if prevSize > 0 {
			p, err := c.ConsistencyProof(ctx, int64(prevSize), int64(size))
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.VerifyConsistency(prevSize, size, unhex(t, p.Hashes), prevRoot, root); err != nil {
				t.Fatalf("round %d: tree %d is not consistent with %d: %v", round, size, prevSize, err)
			}
		}
		prevSize, prevRoot = size, root
		if round == 4 {
			cmd.Process.Kill()
			cmd.Wait()
			break
		}

		// Load, then kill mid-load.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					p, _ := signer.entry(t, fmt.Sprint(round, "/", g, "/", i))
					id, v, _, err := c.Upload(ctx, p)
					if err != nil {
						var ae *tlogclient.APIError
						if errors.As(err, &ae) {
							t.Errorf("server refused a good entry: %v", err)
						}
						return // connection died with the child
					}
					mu.Lock()
					acked[id] = v.LogIndex
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(300+200*round) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		close(stop)
		wg.Wait()
		cmd.Wait()
	}
	if len(acked) < 50 {
		t.Errorf("only %d entries acknowledged; the test did not exercise much", len(acked))
	}
	t.Logf("%d acknowledged entries survived 4 kills", len(acked))
}

var _ = ecdsa.PublicKey{}
