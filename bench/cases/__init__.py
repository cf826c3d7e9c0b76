"""The benchmark cases, one module each: a (mnist), b (notes_321), c (xor), d (digits)."""
