// affinity_oracle: an independent oracle for lib/affinity.c, the key-route
// affinity shared with the other Alternator clients (key-affinity.md).
//
// Standard library only. It has its own MurmurHash3 x64_128 h1 (Go has
// none; tail bytes unsigned, as the Go client), but draws with Go's real
// math/rand (rand.New(rand.NewSource(hash))) and follows the Go client's
// plan: sort.Strings of the URLs, Intn picks, pick-and-remove, the
// quarantined after every active node with the same generator.
//
// Usage:
//
//	go run test/oracle/affinity_oracle.go [-seed N] [-o FILE]
//
// prints cases generated from the case generator's seed N (default 1) to
// FILE (default stdout). test/unit_affinity checks a file of them:
//
//	build/test/unit_affinity test/oracle/vectors.txt
//
// Or the plan of one key over given nodes (quarantined ones after -out):
//
//	go run test/oracle/affinity_oracle.go -key S:key7 \
//	    -nodes http://127.0.0.1:8000,http://127.0.0.2:8000 [-out URL,...]
//
// Regenerate the committed vectors with
//
//	go run test/oracle/affinity_oracle.go -seed 1 -o test/oracle/vectors.txt
//
// Format: one record per line, tokens separated by one space; "-" is an
// empty hex string; '#' starts a comment line.
//
//	murmur HEX H1                         raw Murmur3 h1 of the bytes
//	int63 SEED COUNT V...                 the first COUNT Int63() draws
//	intn SEED N COUNT V...                COUNT successive Intn(N) draws
//	plan T HEX HASH NODES (URL A|Q)... PICKS URL...
//	     a key of type T (S, N, B) whose decoded value is HEX, its hash,
//	     the node list as given (unsorted; A active, Q quarantined) and the
//	     whole plan of rand.New(rand.NewSource(HASH)) as URLs
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"sort"
	"strings"
)

const (
	c1 uint64 = 0x87c37b91114253d5
	c2 uint64 = 0x4cf5ad432745937f
)

func rotl(x uint64, r uint) uint64 { return x<<r | x>>(64-r) }

func fmix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

func murmur3H1(data []byte) int64 {
	var h1, h2 uint64
	n := len(data) / 16
	for i := 0; i < n; i++ {
		k1 := binary.LittleEndian.Uint64(data[16*i:])
		k2 := binary.LittleEndian.Uint64(data[16*i+8:])
		h1 ^= rotl(k1*c1, 31) * c2
		h1 = (rotl(h1, 27)+h2)*5 + 0x52dce729
		h2 ^= rotl(k2*c2, 33) * c1
		h2 = (rotl(h2, 31)+h1)*5 + 0x38495ab5
	}
	tail := data[16*n:]
	var k1, k2 uint64
	for i, b := range tail {
		if i < 8 {
			k1 |= uint64(b) << (8 * uint(i))
		} else {
			k2 |= uint64(b) << (8 * uint(i-8))
		}
	}
	if len(tail) > 8 {
		h2 ^= rotl(k2*c2, 33) * c1
	}
	if len(tail) > 0 {
		h1 ^= rotl(k1*c1, 31) * c2
	}
	h1 ^= uint64(len(data))
	h2 ^= uint64(len(data))
	h1 += h2
	h2 += h1
	h1 = fmix(h1)
	h2 = fmix(h2)
	return int64(h1 + h2)
}

func keyHash(t byte, value []byte) int64 {
	prefix := map[byte]byte{'S': 1, 'N': 2, 'B': 3}[t]
	return murmur3H1(append([]byte{prefix}, value...))
}

func hexOf(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

type out struct{ w *bufio.Writer }

func (o out) line(format string, args ...interface{}) { fmt.Fprintf(o.w, format+"\n", args...) }

type node struct {
	url         string
	quarantined bool
}

// The Go client's plan over nodes as given: the active sorted, then the
// quarantined sorted, all drawn from one generator seeded with the hash.
func goPlan(seed int64, nodes []node) []string {
	var active, quarantined []string
	for _, n := range nodes {
		if n.quarantined {
			quarantined = append(quarantined, n.url)
		} else {
			active = append(active, n.url)
		}
	}
	sort.Strings(active)
	sort.Strings(quarantined)
	rnd := rand.New(rand.NewSource(seed))
	var plan []string
	for _, pool := range [][]string{active, quarantined} {
		for len(pool) > 0 {
			idx := rnd.Intn(len(pool))
			plan = append(plan, pool[idx])
			pool[idx] = pool[len(pool)-1]
			pool = pool[:len(pool)-1]
		}
	}
	return plan
}

type gen struct{ r *rand.Rand }

func (g gen) pick(list []string) string { return list[g.r.Intn(len(list))] }

// One random node URL: IPv4 (10.0.0.1 next to 10.0.0.10 and 10.0.0.100,
// which only byte-wise sorting orders), IPv6 in brackets, host names;
// http and https; mixed ports.
func (g gen) url() string {
	scheme := g.pick([]string{"http", "http", "https"})
	port := g.pick([]string{"8000", "8000", "8043", "80", "443", "9999", "18000"})
	var host string
	switch g.r.Intn(6) {
	case 0, 1:
		host = "10.0.0." + g.pick([]string{"1", "10", "100", "2", "20", "200", "11", "101", "3", "255"})
	case 2:
		host = fmt.Sprintf("%d.%d.%d.%d", 10+g.r.Intn(3), g.r.Intn(256), g.r.Intn(256), 1+g.r.Intn(254))
	case 3:
		host = "[" + g.pick([]string{"::1", "fd00::10", "fd00::1", "fd00::100", "fd00::a", "fd00::A0", "2001:db8::1", "fe80::1:2"}) + "]"
	case 4:
		host = fmt.Sprintf("[fd00::%x]", g.r.Intn(65536))
	default:
		host = fmt.Sprintf("node%d.example.com", 1+g.r.Intn(20))
	}
	return scheme + "://" + host + ":" + port
}

// A list of n distinct URLs in a shuffled order, some quarantined.
func (g gen) nodes(n int) []node {
	seen := map[string]bool{}
	var list []node
	for len(list) < n {
		u := g.url()
		if seen[u] {
			// The small spaces run out for long lists: a wider one.
			u = fmt.Sprintf("http://10.%d.%d.%d:8000", g.r.Intn(256), g.r.Intn(256), g.r.Intn(256))
		}
		if seen[u] {
			continue
		}
		seen[u] = true
		list = append(list, node{url: u})
	}
	switch g.r.Intn(4) {
	case 0: // none quarantined
	case 1: // all quarantined
		for i := range list {
			list[i].quarantined = true
		}
	default:
		for i := range list {
			list[i].quarantined = g.r.Intn(4) == 0
		}
	}
	return list
}

func (g gen) randomString(maxRunes int) []byte {
	pools := [][2]rune{{0x20, 0x7e}, {0x00, 0x1f}, {0xa0, 0x7ff}, {0x800, 0xd7ff}, {0xe000, 0xfffd}, {0x10000, 0x10ffff}}
	var sb strings.Builder
	n := g.r.Intn(maxRunes + 1)
	for i := 0; i < n; i++ {
		p := pools[g.r.Intn(len(pools))]
		sb.WriteRune(p[0] + rune(g.r.Intn(int(p[1]-p[0]+1))))
	}
	return []byte(sb.String())
}

func (g gen) randomBytes(max int) []byte {
	b := make([]byte, g.r.Intn(max+1))
	g.r.Read(b)
	return b
}

func (g gen) randomNumber() []byte {
	forms := []string{"%d", "-%d", "%d.%d", "%de%d", "%dE-%d", "0%d", "-%d.%de+%d"}
	f := g.pick(forms)
	args := []interface{}{g.r.Intn(100000), g.r.Intn(1000), g.r.Intn(40)}
	return []byte(fmt.Sprintf(f, args[:strings.Count(f, "%")]...))
}

type key struct {
	t     byte
	value []byte
}

// query prints the plan of one key over the given nodes, for expectations
// written into end-to-end tests (test/test_request.c).
func query(key, nodes, quarantinedURLs string) {
	if len(key) < 2 || key[1] != ':' || !strings.ContainsRune("SNB", rune(key[0])) {
		fmt.Fprintln(os.Stderr, "-key wants S:TEXT, N:TEXT or B:HEX")
		os.Exit(2)
	}
	value := []byte(key[2:])
	if key[0] == 'B' {
		var err error
		if value, err = hex.DecodeString(key[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	quarantined := map[string]bool{}
	for _, u := range strings.Split(quarantinedURLs, ",") {
		quarantined[u] = u != ""
	}
	var list []node
	for _, u := range strings.Split(nodes, ",") {
		list = append(list, node{u, quarantined[u]})
	}
	h := keyHash(key[0], value)
	fmt.Printf("hash %d\nplan %s\n", h, strings.Join(goPlan(h, list), " "))
}

func main() {
	seed := flag.Int64("seed", 1, "seed of the case generator")
	file := flag.String("o", "", "output file (default stdout)")
	qKey := flag.String("key", "", "print the plan of this key (S:TEXT, N:TEXT, B:HEX) instead")
	qNodes := flag.String("nodes", "", "with -key: the node URLs, comma-separated")
	qOut := flag.String("out", "", "with -key: the quarantined ones among them")
	flag.Parse()
	if *qKey != "" {
		query(*qKey, *qNodes, *qOut)
		return
	}
	w := os.Stdout
	if *file != "" {
		f, err := os.Create(*file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	o := out{bw}
	g := gen{rand.New(rand.NewSource(*seed))}

	o.line("# affinity_oracle -seed %d (go run test/oracle/affinity_oracle.go)", *seed)

	// Raw Murmur3: every length around the 16-byte blocks, all byte values.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for n := 0; n <= 48; n++ {
		o.line("murmur %s %d", hexOf(all[256-n:]), murmur3H1(all[256-n:]))
	}
	for i := 0; i < 20; i++ {
		b := g.randomBytes(100)
		o.line("murmur %s %d", hexOf(b), murmur3H1(b))
	}

	// The generator itself, deep into the stream (past 607 draws), for
	// seeds at the edges of Go's reduction modulo 2^31-1.
	const m = math.MaxInt32
	for i, s := range []int64{0, -1, math.MinInt64, math.MaxInt64, 1, m, -m, 2 * m, m - 1, m + 1, 89482311, g.r.Int63()} {
		rnd := rand.New(rand.NewSource(s))
		var sb strings.Builder
		count := 40
		if i < 4 {
			count = 620 // every seeded word, and past them
		}
		for i := 0; i < count; i++ {
			fmt.Fprintf(&sb, " %d", rnd.Int63())
		}
		o.line("int63 %d %d%s", s, count, sb.String())
	}
	for _, n := range []int{1, 2, 3, 6, 7, 10, 64, 100, 1000, 4096, 1<<30 + 1, m, 1 << 30, 1610612736} {
		s := int64(g.r.Uint64())
		rnd := rand.New(rand.NewSource(s))
		var sb strings.Builder
		count := 300
		if n > 1<<29 {
			count = 800 // many rejected draws: far past the first 607
		}
		for i := 0; i < count; i++ {
			fmt.Fprintf(&sb, " %d", rnd.Intn(n))
		}
		o.line("intn %d %d %d%s", s, n, count, sb.String())
	}

	// Keys.
	var keys []key
	for _, s := range []string{"", "hello", "user_123", "こんにちは", "12345", "café", "caf\u00e9",
		"cafe\u0301", "😀", "a😀b🎉", "\U0010ffff", "a\"b", "back\\slash", "\"\\/\b\f\n\r\t",
		"\x00", "nul\x00inside", "\x01\x1f\x7f", "\u2028\u2029", "tab\there", "x",
		"exactly14bytes", "exactly15bytes!", "exactly16bytes!!", "exactly_17_bytes!",
		"0123456789abcdefghijklmnopqrstu", "0123456789abcdefghijklmnopqrstuv"} {
		keys = append(keys, key{'S', []byte(s)})
	}
	for _, s := range []string{"1", "1.0", "1e3", "1E3", "-0", "0", "01", "42", "-12345", "3.14159",
		"1.23E10", "12345", "1000", "0.1", "1e-130", "9.9999999999999999999999999999999999999E+125"} {
		keys = append(keys, key{'N', []byte(s)})
	}
	keys = append(keys, key{'B', all}, key{'B', nil}, key{'B', []byte{0xff, 0x00, 0x80}},
		key{'B', []byte{1, 2, 3}}, key{'B', []byte("12345")}, key{'B', []byte{0x80}}, key{'B', []byte{0xff}})
	for _, n := range []int{14, 15, 16, 17, 31, 32, 33} {
		keys = append(keys, key{'B', all[256-n:]})
	}
	long1k := make([]byte, 1024)
	long10k := make([]byte, 10240)
	g.r.Read(long10k)
	for i := range long1k {
		long1k[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i%36]
	}
	keys = append(keys, key{'S', long1k}, key{'B', long10k}, key{'S', []byte(strings.Repeat("ж😀", 1024/6))})
	for i := 0; i < 90; i++ {
		keys = append(keys, key{'S', g.randomString(30)})
	}
	for i := 0; i < 40; i++ {
		keys = append(keys, key{'N', g.randomNumber()})
	}
	for i := 0; i < 45; i++ {
		keys = append(keys, key{'B', g.randomBytes(70)})
	}

	sizes := []int{1, 2, 5, 100}
	for i, k := range keys {
		var n int
		if i < len(sizes)*3 {
			n = sizes[i%len(sizes)]
		} else {
			n = []int{1, 2, 3, 5, 5, 6, 10, 17, 100}[g.r.Intn(9)]
			if n == 100 && g.r.Intn(6) != 0 {
				n = 7 // keeps the file small
			}
		}
		nodes := g.nodes(n)
		h := keyHash(k.t, k.value)
		if k.t == 'S' && len(k.value) < 64 {
			js, _ := json.Marshal(string(k.value))
			o.line("# S %s", js)
		}
		var sb strings.Builder
		for _, nd := range nodes {
			state := "A"
			if nd.quarantined {
				state = "Q"
			}
			fmt.Fprintf(&sb, " %s %s", nd.url, state)
		}
		plan := goPlan(h, nodes)
		o.line("plan %c %s %d %d%s %d %s", k.t, hexOf(k.value), h, len(nodes), sb.String(),
			len(plan), strings.Join(plan, " "))
	}
}
