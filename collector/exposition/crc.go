package exposition

import "hash/crc32"

// crc32Combine returns the CRC-32 (IEEE) of a+b from crcA, the CRC of a,
// and crcB, the CRC of b, which is lenB bytes long: a gzip scrape so needs
// no pass over the lines its pieces hold. It appends lenB zero bytes to
// crcA in GF(2), as zlib's crc32_combine does, with the operators of
// 2^k zero bytes computed once.
func crc32Combine(crcA, crcB uint32, lenB int64) uint32 {
	for k := 0; lenB != 0; k, lenB = k+1, lenB>>1 {
		if lenB&1 != 0 {
			crcA = zeroOps[k].times(crcA)
		}
	}
	return crcA ^ crcB
}

// gf2Matrix is a linear operator on 32-bit CRCs: column i is the image of bit i.
type gf2Matrix [32]uint32

func (m *gf2Matrix) times(v uint32) uint32 {
	var sum uint32
	for i := 0; v != 0; i, v = i+1, v>>1 {
		if v&1 != 0 {
			sum ^= m[i]
		}
	}
	return sum
}

// zeroOps[k] appends 2^k zero bytes to a CRC.
var zeroOps = func() (ops [63]gf2Matrix) {
	// One zero bit: shift right, and fold the reflected polynomial in.
	var bit gf2Matrix
	bit[0] = crc32.IEEE
	for i := 1; i < 32; i++ {
		bit[i] = 1 << (i - 1)
	}
	square := func(m gf2Matrix) (out gf2Matrix) {
		for i := range out {
			out[i] = m.times(m[i])
		}
		return out
	}
	op := square(square(square(bit))) // 8 bits: one zero byte
	for k := range ops {
		ops[k] = op
		op = square(op)
	}
	return ops
}()
