package app

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/storage"
)

// Imported welcome packs.
//
// A newcomer who was handed a pack file and its passphrase can keep the
// pack in its vault and read it in Hearth before (or without) joining the
// circle: a read-only library of the circle it came from. Only items whose
// author's signature verifies and whose author consented to later members
// seeing them are stored; nothing else of the file is kept.
//
// Packs are vault-wide values (storage globals), under the store key:
//
//	pack.index             the imported packs' circle ids, 16 bytes each
//	pack.meta.<circle>     record.PackFile: circle, name, exported time, and
//	                       the number of chunks in Items' place (see below)
//	pack.chunk.<circle><n> record.PackFile holding a chunk of the items
//
// A pack holds up to a few MiB, hence the chunks, each under 128 KiB: the
// store keeps values from 163 KiB up (with the desktop's memtables) in its
// value log, which it never collects, so an item withdrawn since would stay
// on disk (TestPackChunksStayInTree). Chunks of packs kept before were up
// to 768 KiB, and still read. A pack exported later replaces the one kept
// (so an item its author withdrew since is gone); an older or identical
// one changes nothing.
const (
	packIndexKey    = "pack.index"
	packMetaPrefix  = "pack.meta."
	packChunkPrefix = "pack.chunk."
	packChunkBytes  = 128 << 10
)

var (
	// ErrNoPack: no pack of that circle was imported into this vault.
	ErrNoPack = errors.New("no welcome pack of that circle in this vault")

	// packMu serialises pack imports, which read and rewrite several values.
	packMu sync.Mutex
)

// PackInfo describes a welcome pack kept in this vault.
type PackInfo struct {
	Circle   CircleID
	Name     string
	Items    int
	Exported time.Time // when the facilitator exported it
}

// PackImport is what importing a pack did.
type PackImport struct {
	PackInfo
	// Added counts items new to this vault; Withdrawn counts items kept
	// from an earlier pack that the newer one no longer holds.
	Added, Withdrawn int
	// Stale: the vault already holds this pack or a newer one of the same
	// circle; nothing changed.
	Stale bool
}

// ImportPack opens a welcome pack file with its passphrase, checks every
// item's signature and consent, and keeps the items that pass in this vault
// as a read-only library of the circle the pack came from. Importing the
// same file again changes nothing.
func (h *Hearth) ImportPack(file, passphrase []byte) (PackImport, error) {
	pf, err := decryptPack(file, passphrase)
	if err != nil {
		return PackImport{}, err
	}
	items := verifiedItems(pf)
	slices.SortFunc(items, compareItems)
	items = slices.CompactFunc(items, func(a, b *record.WelcomeItem) bool { return compareItems(a, b) == 0 })
	id := CircleID(pf.Circle)
	res := PackImport{PackInfo: PackInfo{Circle: id, Name: cleanName(pf.Name), Items: len(items), Exported: time.UnixMilli(pf.ExportedMs)}}

	packMu.Lock()
	defer packMu.Unlock()
	old, oldItems, err := h.loadPack(id)
	switch {
	case errors.Is(err, ErrNoPack):
		res.Added = len(items)
	case err != nil:
		return PackImport{}, err
	default:
		if old.ExportedMs > pf.ExportedMs || old.ExportedMs == pf.ExportedMs && sameItems(oldItems, items) {
			res.Stale = true
			res.PackInfo = packInfo(old, len(oldItems))
			return res, nil
		}
		res.Added, res.Withdrawn = diffItems(oldItems, items)
	}
	if err := h.savePack(&record.PackFile{Circle: pf.Circle, Name: pf.Name, ExportedMs: pf.ExportedMs}, items, old); err != nil {
		return PackImport{}, err
	}
	return res, nil
}

// Packs lists the welcome packs kept in this vault, by name.
func (h *Hearth) Packs() ([]PackInfo, error) {
	packMu.Lock()
	defer packMu.Unlock()
	ids, err := h.packIndex()
	if err != nil {
		return nil, err
	}
	var out []PackInfo
	for _, id := range ids {
		meta, items, err := h.loadPack(id)
		if err != nil {
			return nil, err
		}
		out = append(out, packInfo(meta, len(items)))
	}
	slices.SortFunc(out, func(a, b PackInfo) int {
		if a.Name != b.Name {
			return strings.Compare(a.Name, b.Name)
		}
		return bytes.Compare(a.Circle[:], b.Circle[:])
	})
	return out, nil
}

// PackLibrary reads a kept welcome pack: its items as a library, newest
// first, each verified again against its author's signature.
func (h *Hearth) PackLibrary(id CircleID) (*Pack, error) {
	packMu.Lock()
	meta, items, err := h.loadPack(id)
	packMu.Unlock()
	if err != nil {
		return nil, err
	}
	p := &Pack{Circle: id, Name: cleanName(meta.Name)}
	for _, it := range items {
		if !verifyItem([16]byte(id), it) {
			continue
		}
		if r, ok := resourceOf(it, nil); ok {
			p.Items = append(p.Items, r)
		}
	}
	slices.SortStableFunc(p.Items, func(a, b Resource) int { return b.SentAt.Compare(a.SentAt) })
	return p, nil
}

// ForgetPack removes a kept welcome pack from this vault.
func (h *Hearth) ForgetPack(id CircleID) error {
	packMu.Lock()
	defer packMu.Unlock()
	meta, _, err := h.loadPack(id)
	if err != nil {
		return err
	}
	if err := h.deleteChunks(id, 0, chunkCount(meta)); err != nil {
		return err
	}
	if err := h.store.DeleteGlobal(packMetaKey(id)); err != nil {
		return err
	}
	ids, err := h.packIndex()
	if err != nil {
		return err
	}
	ids = slices.DeleteFunc(ids, func(c CircleID) bool { return c == id })
	return h.savePackIndex(ids)
}

func packInfo(meta *record.PackFile, n int) PackInfo {
	return PackInfo{Circle: CircleID(meta.Circle), Name: cleanName(meta.Name), Items: n, Exported: time.UnixMilli(meta.ExportedMs)}
}

func packMetaKey(id CircleID) []byte { return append([]byte(packMetaPrefix), id[:]...) }

func packChunkKey(id CircleID, n int) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(packChunkPrefix), id[:]...), uint32(n))
}

// chunkCount is how many chunks the meta record says the pack has; the
// meta record keeps it as the length of its (otherwise empty) Items.
func chunkCount(meta *record.PackFile) int { return len(meta.Items) }

// maxPackChunks bounds the chunks read back for one pack. A chunk closes
// when the next item would take it to packChunkBytes, so two chunks in a
// row hold at least packChunkBytes: a pack of maxPackFile fills at most
// twice maxPackFile/packChunkBytes chunks, and one more.
const maxPackChunks = 2*maxPackFile/packChunkBytes + 2

func (h *Hearth) packIndex() ([]CircleID, error) {
	b, err := h.store.GetGlobal([]byte(packIndexKey))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b)%16 != 0 {
		return nil, fmt.Errorf("welcome pack index: %w", storage.ErrCorrupt)
	}
	ids := make([]CircleID, 0, len(b)/16)
	for i := 0; i < len(b); i += 16 {
		ids = append(ids, CircleID(b[i:i+16]))
	}
	return ids, nil
}

func (h *Hearth) savePackIndex(ids []CircleID) error {
	if len(ids) == 0 {
		return h.store.DeleteGlobal([]byte(packIndexKey))
	}
	b := make([]byte, 0, 16*len(ids))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return h.store.PutGlobal([]byte(packIndexKey), b)
}

// loadPack reads a kept pack's meta record and items, or ErrNoPack.
func (h *Hearth) loadPack(id CircleID) (*record.PackFile, []*record.WelcomeItem, error) {
	b, err := h.store.GetGlobal(packMetaKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoPack, id)
	}
	if err != nil {
		return nil, nil, err
	}
	meta := new(record.PackFile)
	if err := proto.Unmarshal(b, meta); err != nil || chunkCount(meta) > maxPackChunks {
		return nil, nil, fmt.Errorf("welcome pack %s: %w", id, storage.ErrCorrupt)
	}
	var items []*record.WelcomeItem
	for n := range chunkCount(meta) {
		b, err := h.store.GetGlobal(packChunkKey(id, n))
		if err != nil {
			return nil, nil, fmt.Errorf("welcome pack %s: %w", id, err)
		}
		var chunk record.PackFile
		if err := proto.Unmarshal(b, &chunk); err != nil {
			return nil, nil, fmt.Errorf("welcome pack %s: %w", id, storage.ErrCorrupt)
		}
		items = append(items, chunk.Items...)
	}
	return meta, items, nil
}

// savePack writes a pack's items in chunks, then its meta record, then the
// index; old is the meta record it replaces, if any. A crash part way
// leaves the old meta record pointing at chunks that may already hold the
// new items: still verified items of the same circle.
func (h *Hearth) savePack(meta *record.PackFile, items []*record.WelcomeItem, old *record.PackFile) error {
	id := CircleID(meta.Circle)
	var chunks int
	for start := 0; start < len(items) || chunks == 0; chunks++ {
		chunk := &record.PackFile{Circle: meta.Circle}
		size := 0
		for start < len(items) && (len(chunk.Items) == 0 || size+proto.Size(items[start]) < packChunkBytes) {
			size += proto.Size(items[start]) + 8
			chunk.Items = append(chunk.Items, items[start])
			start++
		}
		b, err := proto.Marshal(chunk)
		if err != nil {
			return err
		}
		if err := h.store.PutGlobal(packChunkKey(id, chunks), b); err != nil {
			return fmt.Errorf("keep welcome pack: %w", err)
		}
	}
	m := &record.PackFile{Circle: meta.Circle, Name: meta.Name, ExportedMs: meta.ExportedMs, Items: make([]*record.WelcomeItem, chunks)}
	for i := range m.Items {
		m.Items[i] = &record.WelcomeItem{}
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	if err := h.store.PutGlobal(packMetaKey(id), b); err != nil {
		return fmt.Errorf("keep welcome pack: %w", err)
	}
	if old != nil {
		if err := h.deleteChunks(id, chunks, chunkCount(old)); err != nil {
			return err
		}
		return nil
	}
	ids, err := h.packIndex()
	if err != nil {
		return err
	}
	if !slices.Contains(ids, id) {
		ids = append(ids, id)
	}
	return h.savePackIndex(ids)
}

func (h *Hearth) deleteChunks(id CircleID, from, to int) error {
	for n := from; n < to; n++ {
		if err := h.store.DeleteGlobal(packChunkKey(id, n)); err != nil {
			return err
		}
	}
	return nil
}

// compareItems orders items by author, then sequence number.
func compareItems(a, b *record.WelcomeItem) int {
	if c := bytes.Compare(a.Author, b.Author); c != 0 {
		return c
	}
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

func sameItems(a, b []*record.WelcomeItem) bool {
	added, withdrawn := diffItems(a, b)
	return added == 0 && withdrawn == 0
}

// diffItems counts the items of next not in prev, and of prev not in next.
func diffItems(prev, next []*record.WelcomeItem) (added, withdrawn int) {
	key := func(it *record.WelcomeItem) string {
		return string(binary.BigEndian.AppendUint64(append([]byte(nil), it.Author...), it.Seq))
	}
	had := map[string]bool{}
	for _, it := range prev {
		had[key(it)] = true
	}
	for _, it := range next {
		if !had[key(it)] {
			added++
		}
		delete(had, key(it))
	}
	return added, len(had)
}
