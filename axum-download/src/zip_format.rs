//! The structures of a zip archive whose entries are stored (method 0, not
//! compressed), laid out before any file is read: every offset, and so the
//! archive's exact length, follows from the entries' names and sizes alone,
//! and any byte of the structures can be produced on its own once the
//! entry's CRC-32 is known (PKWARE's APPNOTE.TXT, sections 4.3 to 4.5).

use std::time::{SystemTime, UNIX_EPOCH};

/// A 16-bit field that does not fit: the value is in the zip64 records.
const MAX_16: u64 = 0xFFFF;
/// A 32-bit field that does not fit: the value is in the zip64 extra field.
const MAX_32: u64 = 0xFFFF_FFFF;

const LOCAL_HEADER_SIGNATURE: u32 = 0x0403_4b50;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const END_SIGNATURE: u32 = 0x0605_4b50;

const LOCAL_HEADER_LEN: u64 = 30;
const CENTRAL_HEADER_LEN: u64 = 46;
const ZIP64_END_LEN: u64 = 56;
const ZIP64_LOCATOR_LEN: u64 = 20;
const END_LEN: u64 = 22;

/// Extended timestamp extra field (`UT`) with the modification time only:
/// tag, size, flags, time. unzip and Info-ZIP derived readers restore the
/// exact UTC time from it; the DOS fields have no time zone.
const TIMESTAMP_EXTRA_ID: u16 = 0x5455;
const TIMESTAMP_EXTRA_LEN: u64 = 9;
const ZIP64_EXTRA_ID: u16 = 0x0001;

/// General purpose flag bit 11: names are UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
/// Made by: Unix (3), spec version 4.5, so the external attributes below
/// are read as Unix permissions.
const VERSION_MADE_BY: u16 = (3 << 8) | 45;
const VERSION_NEEDED: u16 = 20;
const VERSION_NEEDED_ZIP64: u16 = 45;
/// A regular file, `rw-r--r--`.
const EXTERNAL_ATTRIBUTES: u32 = 0o100_644 << 16;

/// One file of the archive, as the layout needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntrySpec {
    /// The name in the archive, `/`-separated, UTF-8.
    pub(crate) name: String,
    /// Its length in bytes.
    pub(crate) size: u64,
    /// Its modification time, when known (else 1980-01-01).
    pub(crate) modified: Option<SystemTime>,
}

/// One entry with its place in the archive.
#[derive(Debug)]
struct Placed {
    name: Box<str>,
    size: u64,
    dos_time: u16,
    dos_date: u16,
    unix_time: u32,
    /// Where its local header starts.
    header_offset: u64,
    /// Where its central directory header starts.
    central_offset: u64,
    /// Sizes in the zip64 extra field (local and central).
    zip64_sizes: bool,
    /// Local header offset in the zip64 extra field (central only).
    zip64_offset: bool,
}

impl Placed {
    fn local_len(&self) -> u64 {
        let zip64 = if self.zip64_sizes { 4 + 16 } else { 0 };
        LOCAL_HEADER_LEN + self.name.len() as u64 + TIMESTAMP_EXTRA_LEN + zip64
    }

    fn central_zip64_len(&self) -> u64 {
        let fields = 2 * u64::from(self.zip64_sizes) + u64::from(self.zip64_offset);
        if fields == 0 {
            0
        } else {
            4 + 8 * fields
        }
    }

    fn central_len(&self) -> u64 {
        CENTRAL_HEADER_LEN + self.name.len() as u64 + TIMESTAMP_EXTRA_LEN + self.central_zip64_len()
    }

    fn data_offset(&self) -> u64 {
        self.header_offset + self.local_len()
    }

    fn version_needed(&self) -> u16 {
        if self.zip64_sizes || self.zip64_offset {
            VERSION_NEEDED_ZIP64
        } else {
            VERSION_NEEDED
        }
    }
}

/// Which structure a byte of the archive belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The local header of entry `index`, starting at `start`.
    LocalHeader { index: usize, start: u64 },
    /// The bytes of entry `index`, starting at `start`.
    Data { index: usize, start: u64 },
    /// The central directory header of entry `index`, starting at `start`.
    CentralHeader { index: usize, start: u64 },
    /// The end records (zip64 end and locator when needed, then the end of
    /// central directory), starting at `start`.
    End { start: u64 },
}

/// Where everything of a stored archive is.
#[derive(Debug)]
pub(crate) struct Layout {
    entries: Vec<Placed>,
    central_start: u64,
    central_len: u64,
    zip64_end: bool,
    len: u64,
}

impl Layout {
    /// Lays out `entries` in the given order. With `force_zip64`, every
    /// entry and the end use the zip64 records even when the values fit.
    pub(crate) fn new(entries: Vec<EntrySpec>, force_zip64: bool) -> Result<Self, String> {
        let mut placed = Vec::with_capacity(entries.len());
        let mut offset = 0u64;
        for spec in entries {
            if spec.name.is_empty() || spec.name.len() as u64 > MAX_16 {
                return Err(format!(
                    "entry name of {} bytes: a zip name has 1 to 65535",
                    spec.name.len()
                ));
            }
            let seconds = spec
                .modified
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            let (dos_time, dos_date) = dos_date_time(seconds);
            let entry = Placed {
                name: spec.name.into_boxed_str(),
                size: spec.size,
                dos_time,
                dos_date,
                unix_time: u32::try_from(seconds.min(i32::MAX as u64)).unwrap_or(0),
                header_offset: offset,
                central_offset: 0,
                zip64_sizes: force_zip64 || spec.size >= MAX_32,
                zip64_offset: force_zip64 || offset >= MAX_32,
            };
            offset = entry
                .data_offset()
                .checked_add(entry.size)
                .ok_or("the archive would be longer than 2^64 bytes")?;
            placed.push(entry);
        }
        let central_start = offset;
        for entry in &mut placed {
            entry.central_offset = offset;
            offset += entry.central_len();
        }
        let central_len = offset - central_start;
        let zip64_end = force_zip64
            || placed.len() as u64 >= MAX_16
            || central_len >= MAX_32
            || central_start >= MAX_32;
        let end_len = END_LEN
            + if zip64_end {
                ZIP64_END_LEN + ZIP64_LOCATOR_LEN
            } else {
                0
            };
        Ok(Self {
            entries: placed,
            central_start,
            central_len,
            zip64_end,
            len: offset + end_len,
        })
    }

    /// The archive's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// How many entries it has.
    pub(crate) fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// Entry `index`'s name and size.
    pub(crate) fn entry(&self, index: usize) -> (&str, u64) {
        let entry = &self.entries[index];
        (&entry.name, entry.size)
    }

    /// Where entry `index`'s bytes start.
    #[cfg(test)]
    pub(crate) fn data_offset(&self, index: usize) -> u64 {
        self.entries[index].data_offset()
    }

    /// The structure that byte `pos` (less than [`len`](Self::len)) is in.
    pub(crate) fn part_at(&self, pos: u64) -> Part {
        if pos >= self.central_start + self.central_len {
            return Part::End {
                start: self.central_start + self.central_len,
            };
        }
        if pos >= self.central_start {
            let index = self.entries.partition_point(|e| e.central_offset <= pos) - 1;
            return Part::CentralHeader {
                index,
                start: self.entries[index].central_offset,
            };
        }
        // pos < central_start: some entry's header or data holds it.
        let index = self.entries.partition_point(|e| e.header_offset <= pos) - 1;
        let entry = &self.entries[index];
        if pos < entry.data_offset() {
            Part::LocalHeader {
                index,
                start: entry.header_offset,
            }
        } else {
            Part::Data {
                index,
                start: entry.data_offset(),
            }
        }
    }

    /// The local file header of entry `index`, with its CRC-32.
    pub(crate) fn local_header(&self, index: usize, crc: u32) -> Vec<u8> {
        let entry = &self.entries[index];
        let mut out = Vec::with_capacity(entry.local_len() as usize);
        put32(&mut out, LOCAL_HEADER_SIGNATURE);
        put16(&mut out, entry.version_needed());
        put16(&mut out, FLAG_UTF8);
        put16(&mut out, 0); // stored
        put16(&mut out, entry.dos_time);
        put16(&mut out, entry.dos_date);
        put32(&mut out, crc);
        let size = if entry.zip64_sizes {
            MAX_32
        } else {
            entry.size
        };
        put32(&mut out, size as u32); // compressed
        put32(&mut out, size as u32); // uncompressed
        put16(&mut out, entry.name.len() as u16);
        put16(
            &mut out,
            (entry.local_len() - LOCAL_HEADER_LEN - entry.name.len() as u64) as u16,
        );
        out.extend_from_slice(entry.name.as_bytes());
        put_timestamp(&mut out, entry.unix_time);
        if entry.zip64_sizes {
            // In a local header both sizes are present, uncompressed first.
            put16(&mut out, ZIP64_EXTRA_ID);
            put16(&mut out, 16);
            put64(&mut out, entry.size);
            put64(&mut out, entry.size);
        }
        debug_assert_eq!(out.len() as u64, entry.local_len());
        out
    }

    /// The central directory header of entry `index`, appended to `out`.
    pub(crate) fn central_header(&self, index: usize, crc: u32, out: &mut Vec<u8>) {
        let entry = &self.entries[index];
        let before = out.len();
        put32(out, CENTRAL_HEADER_SIGNATURE);
        put16(out, VERSION_MADE_BY);
        put16(out, entry.version_needed());
        put16(out, FLAG_UTF8);
        put16(out, 0); // stored
        put16(out, entry.dos_time);
        put16(out, entry.dos_date);
        put32(out, crc);
        let size = if entry.zip64_sizes {
            MAX_32
        } else {
            entry.size
        };
        put32(out, size as u32);
        put32(out, size as u32);
        put16(out, entry.name.len() as u16);
        put16(
            out,
            (TIMESTAMP_EXTRA_LEN + entry.central_zip64_len()) as u16,
        );
        put16(out, 0); // comment length
        put16(out, 0); // disk number
        put16(out, 0); // internal attributes
        put32(out, EXTERNAL_ATTRIBUTES);
        let offset = if entry.zip64_offset {
            MAX_32
        } else {
            entry.header_offset
        };
        put32(out, offset as u32);
        out.extend_from_slice(entry.name.as_bytes());
        put_timestamp(out, entry.unix_time);
        if entry.central_zip64_len() > 0 {
            // Only the fields marked 0xFFFFFFFF above, in this order.
            put16(out, ZIP64_EXTRA_ID);
            put16(out, (entry.central_zip64_len() - 4) as u16);
            if entry.zip64_sizes {
                put64(out, entry.size);
                put64(out, entry.size);
            }
            if entry.zip64_offset {
                put64(out, entry.header_offset);
            }
        }
        debug_assert_eq!((out.len() - before) as u64, entry.central_len());
    }

    /// The end records: zip64 end of central directory and its locator
    /// when needed, then the end of central directory.
    pub(crate) fn end_records(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity((self.len - self.central_start - self.central_len) as usize);
        let count = self.entries.len() as u64;
        let zip64_end_offset = self.central_start + self.central_len;
        if self.zip64_end {
            put32(&mut out, ZIP64_END_SIGNATURE);
            put64(&mut out, ZIP64_END_LEN - 12); // size of the rest of the record
            put16(&mut out, VERSION_MADE_BY);
            put16(&mut out, VERSION_NEEDED_ZIP64);
            put32(&mut out, 0); // this disk
            put32(&mut out, 0); // disk of the central directory
            put64(&mut out, count);
            put64(&mut out, count);
            put64(&mut out, self.central_len);
            put64(&mut out, self.central_start);
            put32(&mut out, ZIP64_LOCATOR_SIGNATURE);
            put32(&mut out, 0); // disk of the zip64 end record
            put64(&mut out, zip64_end_offset);
            put32(&mut out, 1); // total disks
        }
        put32(&mut out, END_SIGNATURE);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, count.min(MAX_16) as u16);
        put16(&mut out, count.min(MAX_16) as u16);
        put32(&mut out, self.central_len.min(MAX_32) as u32);
        put32(&mut out, self.central_start.min(MAX_32) as u32);
        put16(&mut out, 0); // comment length
        debug_assert_eq!(
            out.len() as u64,
            self.len - self.central_start - self.central_len
        );
        out
    }
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_timestamp(out: &mut Vec<u8>, unix_time: u32) {
    put16(out, TIMESTAMP_EXTRA_ID);
    put16(out, (TIMESTAMP_EXTRA_LEN - 4) as u16);
    out.push(1); // modification time present
    put32(out, unix_time);
}

/// MS-DOS time and date (two-second resolution, years 1980 to 2107) of a
/// Unix time, in UTC: the archive is the same wherever it is made. Times
/// outside the range are clamped to its ends.
pub(crate) fn dos_date_time(unix_seconds: u64) -> (u16, u16) {
    const DOS_EPOCH: u64 = 315_532_800; // 1980-01-01T00:00:00Z
    if unix_seconds < DOS_EPOCH {
        return (0, (1 << 5) | 1);
    }
    let days = unix_seconds / 86_400;
    let seconds = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    if year > 2107 {
        return ((23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31);
    }
    let time = ((seconds / 3600) << 11) | (((seconds / 60) % 60) << 5) | ((seconds % 60) / 2);
    let date = ((year - 1980) << 9) | (month << 5) | day;
    (time as u16, date as u16)
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01, in
/// the proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`,
/// for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn spec(name: &str, size: u64) -> EntrySpec {
        EntrySpec {
            name: name.to_owned(),
            size,
            modified: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        }
    }

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([bytes[at], bytes[at + 1]])
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
    }

    /// The whole archive, with the entries' bytes given.
    fn assemble(layout: &Layout, data: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, bytes) in data.iter().enumerate() {
            out.extend(layout.local_header(i, crc32fast::hash(bytes)));
            out.extend_from_slice(bytes);
        }
        for (i, bytes) in data.iter().enumerate() {
            layout.central_header(i, crc32fast::hash(bytes), &mut out);
        }
        out.extend(layout.end_records());
        out
    }

    #[test]
    fn dos_time_of_known_instants() {
        // 2023-11-14T22:13:20Z
        let (time, date) = dos_date_time(1_700_000_000);
        assert_eq!(date >> 9, 2023 - 1980);
        assert_eq!((date >> 5) & 0xF, 11);
        assert_eq!(date & 0x1F, 14);
        assert_eq!(time >> 11, 22);
        assert_eq!((time >> 5) & 0x3F, 13);
        assert_eq!((time & 0x1F) * 2, 20);
        // 2000-02-29T00:00:01Z: a leap day, seconds rounded down to even.
        let (time, date) = dos_date_time(951_782_401);
        assert_eq!((date >> 9, (date >> 5) & 0xF, date & 0x1F), (20, 2, 29));
        assert_eq!(time, 0);
    }

    #[test]
    fn dos_time_is_clamped_to_its_range() {
        assert_eq!(dos_date_time(0), (0, (1 << 5) | 1));
        let (_, date) = dos_date_time(5_000_000_000_000);
        assert_eq!(date >> 9, 127);
    }

    #[test]
    fn lengths_add_up_and_parts_are_found() {
        let layout = Layout::new(
            vec![spec("a.txt", 3), spec("dir/é.bin", 0), spec("c", 5)],
            false,
        )
        .unwrap();
        let archive = assemble(&layout, &[b"abc", b"", b"hello"]);
        assert_eq!(archive.len() as u64, layout.len());
        assert_eq!(layout.part_at(0), Part::LocalHeader { index: 0, start: 0 });
        let data = layout.data_offset(0);
        assert_eq!(&archive[data as usize..data as usize + 3], b"abc");
        assert_eq!(
            layout.part_at(data),
            Part::Data {
                index: 0,
                start: data
            }
        );
        // The empty entry's header is followed at once by the next header.
        let second = data + 3;
        assert_eq!(
            layout.part_at(second),
            Part::LocalHeader {
                index: 1,
                start: second
            }
        );
        assert_eq!(layout.data_offset(1), layout.entries[2].header_offset);
        assert_eq!(
            layout.part_at(layout.data_offset(1)),
            Part::LocalHeader {
                index: 2,
                start: layout.data_offset(1)
            }
        );
        let central = layout.central_start;
        assert_eq!(u32_at(&archive, central as usize), CENTRAL_HEADER_SIGNATURE);
        assert_eq!(
            layout.part_at(central + 1),
            Part::CentralHeader {
                index: 0,
                start: central
            }
        );
        let end = layout.len() - END_LEN;
        assert_eq!(u32_at(&archive, end as usize), END_SIGNATURE);
        assert_eq!(layout.part_at(layout.len() - 1), Part::End { start: end });
    }

    #[test]
    fn local_header_fields() {
        let layout = Layout::new(vec![spec("dir/é.txt", 3)], false).unwrap();
        let header = layout.local_header(0, 0xDEAD_BEEF);
        assert_eq!(u32_at(&header, 0), LOCAL_HEADER_SIGNATURE);
        assert_eq!(u16_at(&header, 4), 20);
        assert_eq!(
            u16_at(&header, 6),
            FLAG_UTF8,
            "UTF-8 names, no data descriptor"
        );
        assert_eq!(u16_at(&header, 8), 0, "stored");
        assert_eq!(u32_at(&header, 14), 0xDEAD_BEEF);
        assert_eq!(u32_at(&header, 18), 3);
        assert_eq!(u32_at(&header, 22), 3);
        let name_len = usize::from(u16_at(&header, 26));
        assert_eq!(&header[30..30 + name_len], "dir/é.txt".as_bytes());
        let extra = 30 + name_len;
        assert_eq!(u16_at(&header, extra), TIMESTAMP_EXTRA_ID);
        assert_eq!(u32_at(&header, extra + 5), 1_700_000_000);
    }

    #[test]
    fn forced_zip64_moves_sizes_and_offsets_to_extra_fields() {
        let layout = Layout::new(vec![spec("a", 3), spec("b", 4)], true).unwrap();
        let archive = assemble(&layout, &[b"abc", b"defg"]);
        assert_eq!(archive.len() as u64, layout.len());
        let second = layout.entries[1].header_offset as usize;
        assert_eq!(u32_at(&archive, second + 18), 0xFFFF_FFFF);
        // Local zip64 extra after the name and the timestamp.
        let extra = second + 30 + 1 + TIMESTAMP_EXTRA_LEN as usize;
        assert_eq!(u16_at(&archive, extra), ZIP64_EXTRA_ID);
        assert_eq!(u64_at(&archive, extra + 4), 4);
        // Central header of the second entry: offset in the extra field.
        let central = layout.entries[1].central_offset as usize;
        assert_eq!(u32_at(&archive, central + 42), 0xFFFF_FFFF);
        let extra = central + 46 + 1 + TIMESTAMP_EXTRA_LEN as usize;
        assert_eq!(u16_at(&archive, extra + 2), 24);
        assert_eq!(u64_at(&archive, extra + 4 + 16), second as u64);
        // zip64 end record, its locator, then the classic end.
        let end = archive.len() - END_LEN as usize;
        let locator = end - ZIP64_LOCATOR_LEN as usize;
        let zip64_end = locator - ZIP64_END_LEN as usize;
        assert_eq!(u32_at(&archive, zip64_end), ZIP64_END_SIGNATURE);
        assert_eq!(u64_at(&archive, zip64_end + 48), layout.central_start);
        assert_eq!(u32_at(&archive, locator), ZIP64_LOCATOR_SIGNATURE);
        assert_eq!(u64_at(&archive, locator + 8), zip64_end as u64);
    }

    #[test]
    fn large_entry_needs_zip64_without_reading_it() {
        let big = 5 * 1024 * 1024 * 1024;
        let layout = Layout::new(vec![spec("big", big), spec("small", 1)], false).unwrap();
        assert!(layout.entries[0].zip64_sizes);
        assert!(!layout.entries[0].zip64_offset);
        assert!(!layout.entries[1].zip64_sizes);
        assert!(layout.entries[1].zip64_offset, "its header is past 4 GiB");
        assert!(layout.zip64_end, "the central directory is past 4 GiB");
        let header = layout.local_header(0, 0);
        assert_eq!(u16_at(&header, 4), 45);
        let mut central = Vec::new();
        layout.central_header(1, 0, &mut central);
        assert_eq!(central.len() as u64, layout.entries[1].central_len());
        assert_eq!(
            u64_at(&central, central.len() - 8),
            layout.entries[1].header_offset
        );
    }

    #[test]
    fn many_entries_need_the_zip64_end() {
        let entries = (0..65_535).map(|i| spec(&format!("{i}"), 0)).collect();
        let layout = Layout::new(entries, false).unwrap();
        assert!(layout.zip64_end);
        let end = layout.end_records();
        let classic = &end[end.len() - END_LEN as usize..];
        assert_eq!(u16_at(classic, 10), 0xFFFF);
        assert_eq!(u64_at(&end, 32), 65_535);
    }

    #[test]
    fn empty_archive_is_one_end_record() {
        let layout = Layout::new(Vec::new(), false).unwrap();
        assert_eq!(layout.len(), END_LEN);
        assert_eq!(layout.end_records().len() as u64, END_LEN);
    }

    #[test]
    fn refuses_empty_and_overlong_names() {
        assert!(Layout::new(vec![spec("", 1)], false).is_err());
        assert!(Layout::new(vec![spec(&"x".repeat(65_536), 1)], false).is_err());
    }
}
