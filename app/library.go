package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/vault"
)

// ResourceOptions describe a resource a facilitator adds to the library.
type ResourceOptions struct {
	Title string
	Text  string
	Link  string
}

// Resource is an item of the circle's library: a facilitator's resource or
// a post its author shared as a resource.
type Resource struct {
	ID         string
	Title      string
	Text       string
	Link       string
	AuthorNick string
	SentAt     time.Time
}

// AddResource adds a resource to the circle's library. Facilitators only;
// it is scoped "resource", so it is exported and handed to newcomers.
func (h *Hearth) AddResource(ctx context.Context, id CircleID, opt ResourceOptions) (string, error) {
	switch {
	case strings.TrimSpace(opt.Title) == "":
		return "", fmt.Errorf("%w: a resource needs a title", ErrInvalid)
	case len(opt.Title) > maxTitle || len(opt.Text) > maxPostText || len(opt.Link) > maxWhere:
		return "", fmt.Errorf("resource %w", ErrTooLong)
	}
	c, err := h.circle(id)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if me := c.selfMemberLocked(); me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR {
		c.mu.Unlock()
		return "", ErrNotFacilitator
	}
	out, o, err := c.publishLocked(envelope.Kind_KIND_RESOURCE, &record.Resource{Title: opt.Title, Text: opt.Text, Link: opt.Link}, envelope.Scope_SCOPE_RESOURCE)
	c.mu.Unlock()
	if err != nil {
		return "", err
	}
	c.send(ctx, out)
	return messageID(o.Header.Author, o.Header.Seq), nil
}

// Library lists the circle's resources, newest first: facilitators'
// resources and posts shared as resources, less any withdrawn, hidden or
// narrowed since.
func (h *Hearth) Library(id CircleID) ([]Resource, error) {
	c, err := h.circle(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	items, err := c.consentedLocked(envelope.Scope_SCOPE_RESOURCE)
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, it := range items {
		if r, ok := resourceOf(it, c.roster); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// resourceOf renders a consented item as a library entry.
func resourceOf(it *record.WelcomeItem, roster map[MemberID]*member) (Resource, bool) {
	s := &envelope.Signed{Record: it.Record}
	rec, err := s.Decode()
	if err != nil {
		return Resource{}, false
	}
	r := Resource{ID: messageID(MemberID(it.Author), it.Seq), SentAt: time.UnixMilli(rec.SentAtMs)}
	if m := roster[MemberID(it.Author)]; m != nil {
		r.AuthorNick = cleanName(m.rec.Nick)
	}
	switch rec.Kind {
	case envelope.Kind_KIND_RESOURCE:
		var res record.Resource
		if proto.Unmarshal(rec.Body, &res) != nil {
			return Resource{}, false
		}
		r.Title, r.Text, r.Link = cleanName(res.Title), cleanText(res.Text), cleanName(res.Link)
	case envelope.Kind_KIND_POST:
		var p record.Post
		if proto.Unmarshal(rec.Body, &p) != nil {
			return Resource{}, false
		}
		r.Text = cleanText(p.Text)
		r.Title = cleanName(strings.SplitN(r.Text, "\n", 2)[0])
	default:
		return Resource{}, false
	}
	return r, true
}

// Pack file: a vault header (crypto/vault: Argon2id over the passphrase the
// facilitator passes on separately, wrapping a random key), a 24-byte
// nonce, and the PackFile sealed with XChaCha20-Poly1305 under that key,
// the header as associated data.
const packMagic = "HEARTH-PACK-1\n"

var (
	// ErrPack: the file is not a welcome pack Hearth can read.
	ErrPack = errors.New("this file is not a Hearth welcome pack")
	// ErrPackPassphrase: the passphrase does not open the pack.
	ErrPackPassphrase = errors.New("wrong passphrase for this welcome pack")
)

const maxPackFile = 16 << 20

// ExportPack writes the circle's welcome pack (every consented record, with
// its author's signature) encrypted under passphrase. Facilitators only.
func (h *Hearth) ExportPack(id CircleID, passphrase []byte) ([]byte, error) {
	if len(passphrase) < 8 {
		return nil, fmt.Errorf("%w: the pack's passphrase needs at least 8 characters", ErrInvalid)
	}
	c, err := h.circle(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if me := c.selfMemberLocked(); me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR {
		c.mu.Unlock()
		return nil, ErrNotFacilitator
	}
	items, err := c.welcomePackLocked()
	pack := &record.PackFile{Circle: c.id[:], Name: c.state.Name, Items: items, ExportedMs: h.now().UnixMilli()}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return sealPack(pack, passphrase)
}

// sealPack encrypts a pack file under passphrase.
func sealPack(pack *record.PackFile, passphrase []byte) ([]byte, error) {
	plain, err := proto.Marshal(pack)
	if err != nil {
		return nil, err
	}
	header, key, err := vault.New(passphrase, vault.DefaultParams)
	releaseKDFMemory()
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	out := append([]byte(packMagic), header...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, out[:len(packMagic)+len(header)]), nil
}

// Pack is an opened welcome pack.
type Pack struct {
	Circle CircleID
	Name   string
	Items  []Resource // every item verified against its author's signature
}

// OpenPack reads a welcome pack with its passphrase and checks every item's
// signature; items that do not verify, or were not consented, are dropped.
func OpenPack(file, passphrase []byte) (*Pack, error) {
	pf, err := decryptPack(file, passphrase)
	if err != nil {
		return nil, err
	}
	p := &Pack{Circle: CircleID(pf.Circle), Name: cleanName(pf.Name)}
	for _, it := range verifiedItems(pf) {
		if r, ok := resourceOf(it, nil); ok {
			p.Items = append(p.Items, r)
		}
	}
	return p, nil
}

// decryptPack opens a pack file with its passphrase and parses what it
// holds; nothing in it is verified yet.
func decryptPack(file, passphrase []byte) (*record.PackFile, error) {
	if len(file) > maxPackFile || !strings.HasPrefix(string(file), packMagic) {
		return nil, ErrPack
	}
	rest := file[len(packMagic):]
	hlen := vault.HeaderSize
	if len(rest) < hlen+chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, ErrPack
	}
	key, err := vault.Open(rest[:hlen], passphrase)
	releaseKDFMemory()
	if errors.Is(err, vault.ErrWrongPassphrase) {
		return nil, ErrPackPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPack, err)
	}
	defer clear(key[:])
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	nonce := rest[hlen : hlen+chacha20poly1305.NonceSizeX]
	plain, err := aead.Open(nil, nonce, rest[hlen+len(nonce):], file[:len(packMagic)+hlen])
	if err != nil {
		return nil, ErrPackPassphrase
	}
	var pf record.PackFile
	if err := proto.Unmarshal(plain, &pf); err != nil || len(pf.Circle) != 16 {
		return nil, ErrPack
	}
	return &pf, nil
}

// verifiedItems are the pack's items whose signature verifies against the
// signing key they carry, in the pack's circle, and whose author consented
// to later members seeing them.
func verifiedItems(pf *record.PackFile) []*record.WelcomeItem {
	var out []*record.WelcomeItem
	for _, it := range pf.Items {
		if verifyItem([16]byte(pf.Circle), it) {
			out = append(out, it)
		}
	}
	return out
}

func verifyItem(circle [16]byte, it *record.WelcomeItem) bool {
	if len(it.Author) != 16 || len(it.Record) > envelope.MaxRecordSize {
		return false
	}
	s := &envelope.Signed{Epoch: it.Epoch, Author: MemberID(it.Author), Seq: it.Seq, Record: it.Record, Signature: it.Signature}
	if s.VerifyKey(circle, it.SignKey) != nil {
		return false
	}
	rec, err := s.Decode()
	return err == nil && rec.Scope != envelope.Scope_SCOPE_CIRCLE
}
