//! A minimal, bounds-checked reader of FlatBuffers (the container of `.tflite`
//! files). Every offset is checked before it is followed, and scalars are read
//! unaligned, so old files with misaligned vectors load and a corrupt file gets
//! an error, never a panic.

pub type R<T> = Result<T, String>;

/// A table: its position in the buffer and its vtable.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

fn read<const N: usize>(buf: &[u8], at: usize) -> R<[u8; N]> {
    buf.get(at..at.checked_add(N).ok_or("offset overflow")?)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| {
            format!(
                "read of {N} bytes at {at} is beyond the end of the file ({} bytes)",
                buf.len()
            )
        })
}

pub fn u32_at(buf: &[u8], at: usize) -> R<u32> {
    Ok(u32::from_le_bytes(read(buf, at)?))
}

/// The root table of a buffer whose file identifier must be `ident`.
pub fn root<'a>(buf: &'a [u8], ident: &[u8; 4]) -> R<Table<'a>> {
    if buf.get(4..8) != Some(ident) {
        return Err(format!(
            "not a {} file (file identifier {:?})",
            String::from_utf8_lossy(ident),
            buf.get(4..8).map(String::from_utf8_lossy)
        ));
    }
    Table::at(buf, u32_at(buf, 0)? as usize)
}

impl<'a> Table<'a> {
    pub fn at(buf: &'a [u8], pos: usize) -> R<Table<'a>> {
        let soffset = i32::from_le_bytes(read(buf, pos)?) as i64;
        let vtable = pos as i64 - soffset;
        if vtable < 0 || vtable as usize >= buf.len() {
            return Err(format!("table at {pos} has its vtable outside the file"));
        }
        let vtable = vtable as usize;
        let vtable_len = u16::from_le_bytes(read(buf, vtable)?) as usize;
        if vtable_len < 4 || vtable + vtable_len > buf.len() {
            return Err(format!("vtable at {vtable} is malformed"));
        }
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// Position of field `slot`, if present.
    fn field(&self, slot: usize) -> R<Option<usize>> {
        let entry = 4 + 2 * slot;
        if entry + 2 > self.vtable_len {
            return Ok(None);
        }
        let off = u16::from_le_bytes(read(self.buf, self.vtable + entry)?) as usize;
        Ok((off != 0).then_some(self.pos + off))
    }

    pub fn u8(&self, slot: usize, default: u8) -> R<u8> {
        self.field(slot)?
            .map_or(Ok(default), |at| Ok(read::<1>(self.buf, at)?[0]))
    }
    pub fn i8(&self, slot: usize, default: i8) -> R<i8> {
        Ok(self.u8(slot, default as u8)? as i8)
    }
    pub fn i32(&self, slot: usize, default: i32) -> R<i32> {
        self.field(slot)?.map_or(Ok(default), |at| {
            Ok(i32::from_le_bytes(read(self.buf, at)?))
        })
    }
    pub fn u32(&self, slot: usize, default: u32) -> R<u32> {
        self.field(slot)?.map_or(Ok(default), |at| {
            Ok(u32::from_le_bytes(read(self.buf, at)?))
        })
    }
    pub fn f32(&self, slot: usize, default: f32) -> R<f32> {
        self.field(slot)?.map_or(Ok(default), |at| {
            Ok(f32::from_le_bytes(read(self.buf, at)?))
        })
    }

    /// Follows the offset stored in field `slot`.
    fn target(&self, slot: usize) -> R<Option<usize>> {
        match self.field(slot)? {
            None => Ok(None),
            Some(at) => Ok(Some(
                at.checked_add(u32_at(self.buf, at)? as usize)
                    .ok_or("offset overflow")?,
            )),
        }
    }

    pub fn table(&self, slot: usize) -> R<Option<Table<'a>>> {
        self.target(slot)?
            .map(|t| Table::at(self.buf, t))
            .transpose()
    }

    pub fn string(&self, slot: usize) -> R<Option<String>> {
        match self.target(slot)? {
            None => Ok(None),
            Some(t) => {
                let n = u32_at(self.buf, t)? as usize;
                let bytes = self
                    .buf
                    .get(t + 4..t + 4 + n)
                    .ok_or("string beyond the end of the file")?;
                Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
            }
        }
    }

    /// A vector field: (position of its first element, length).
    fn vector(&self, slot: usize, elem_size: usize) -> R<Option<(usize, usize)>> {
        match self.target(slot)? {
            None => Ok(None),
            Some(t) => {
                let n = u32_at(self.buf, t)? as usize;
                let end = n
                    .checked_mul(elem_size)
                    .and_then(|b| b.checked_add(t + 4))
                    .ok_or("vector length overflow")?;
                if end > self.buf.len() {
                    return Err(format!(
                        "vector of {n} elements at {t} runs beyond the end of the file"
                    ));
                }
                Ok(Some((t + 4, n)))
            }
        }
    }

    pub fn bytes(&self, slot: usize) -> R<&'a [u8]> {
        Ok(match self.vector(slot, 1)? {
            None => &[],
            Some((at, n)) => &self.buf[at..at + n],
        })
    }

    pub fn i32s(&self, slot: usize) -> R<Vec<i32>> {
        let Some((at, n)) = self.vector(slot, 4)? else {
            return Ok(vec![]);
        };
        (0..n)
            .map(|i| Ok(i32::from_le_bytes(read(self.buf, at + 4 * i)?)))
            .collect()
    }

    pub fn f32s(&self, slot: usize) -> R<Vec<f32>> {
        let Some((at, n)) = self.vector(slot, 4)? else {
            return Ok(vec![]);
        };
        (0..n)
            .map(|i| Ok(f32::from_le_bytes(read(self.buf, at + 4 * i)?)))
            .collect()
    }

    /// Read unaligned: some converters wrote these vectors misaligned.
    pub fn i64s(&self, slot: usize) -> R<Vec<i64>> {
        let Some((at, n)) = self.vector(slot, 8)? else {
            return Ok(vec![]);
        };
        (0..n)
            .map(|i| Ok(i64::from_le_bytes(read(self.buf, at + 8 * i)?)))
            .collect()
    }

    pub fn tables(&self, slot: usize) -> R<Vec<Table<'a>>> {
        let Some((at, n)) = self.vector(slot, 4)? else {
            return Ok(vec![]);
        };
        (0..n)
            .map(|i| {
                let elem = at + 4 * i;
                Table::at(self.buf, elem + u32_at(self.buf, elem)? as usize)
            })
            .collect()
    }
}
