//! The data of the demo template (`jamrs new --template demo`): a music store a person can
//! browse — genres, artists, albums, tracks, customers and invoices with their lines — made up
//! here, the same every time (a fixed seed), and saved through the engine as server code saves
//! (typed changes, every rule of the items checked; nothing copied from elsewhere).
//!
//! Invoice lines carry their amount, tax and total as the demo's server module computes them
//! (`examples/demo/items/invoices.py`); the invoice's subtotal, tax and total are calculated
//! fields over its lines.

use jamrs_core::delta::{Change, DetailChanges};
use jamrs_core::model::Item;
use jamrs_core::{Error, Task, Value};
use jamrs_store::{Engine, NoHooks};

use crate::database::Database;

/// How much the demo holds.
pub const GENRES: usize = 25;
pub const ARTISTS: usize = 120;
pub const CUSTOMERS: usize = 60;
pub const INVOICES: usize = 420;

/// A small deterministic generator (xorshift64*): the same data on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[(self.next() % list.len() as u64) as usize]
    }
}

const GENRE_NAMES: [&str; GENRES] = [
    "Rock",
    "Jazz",
    "Metal",
    "Alternative",
    "Blues",
    "Classical",
    "Latin",
    "Reggae",
    "Pop",
    "Soundtrack",
    "Electronica",
    "Hip Hop",
    "Folk",
    "Country",
    "Soul",
    "Funk",
    "World",
    "Ambient",
    "Punk",
    "Gospel",
    "Opera",
    "Easy Listening",
    "Drum and Bass",
    "Bossa Nova",
    "Spoken Word",
];
const FIRST: [&str; 40] = [
    "Ada", "Bruno", "Carla", "Diego", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira",
    "Luca", "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wim", "Xenia", "Yusuf", "Zoe", "Anton", "Bianca", "Cyril", "Dora", "Emil", "Frida", "Gus",
    "Hanna", "Ivo", "Jana", "Karl", "Lena", "Marek", "Nora",
];
const LAST: [&str; 40] = [
    "Abbott",
    "Berger",
    "Costa",
    "Dahl",
    "Eklund",
    "Fischer",
    "Garcia",
    "Horvat",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Laine",
    "Moreau",
    "Novak",
    "Olsen",
    "Petrov",
    "Quint",
    "Rossi",
    "Santos",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zeller",
    "Almeida",
    "Brandt",
    "Castillo",
    "Duarte",
    "Engel",
    "Ferreira",
    "Gruber",
    "Haas",
    "Iglesias",
    "Jovanovic",
    "Keller",
    "Lund",
    "Meyer",
    "Nielsen",
];
const ADJECTIVES: [&str; 32] = [
    "Velvet",
    "Electric",
    "Silent",
    "Golden",
    "Broken",
    "Midnight",
    "Crimson",
    "Wandering",
    "Hollow",
    "Neon",
    "Paper",
    "Distant",
    "Wild",
    "Quiet",
    "Burning",
    "Frozen",
    "Lazy",
    "Lucky",
    "Silver",
    "Restless",
    "Northern",
    "Secret",
    "Blue",
    "Iron",
    "Little",
    "Endless",
    "Bright",
    "Dusty",
    "Falling",
    "Hidden",
    "Painted",
    "Rolling",
];
const NOUNS: [&str; 32] = [
    "Foxes",
    "Rivers",
    "Engines",
    "Lanterns",
    "Owls",
    "Harbors",
    "Mirrors",
    "Tigers",
    "Gardens",
    "Satellites",
    "Ravens",
    "Bridges",
    "Comets",
    "Wolves",
    "Orchards",
    "Sparrows",
    "Trains",
    "Valleys",
    "Clocks",
    "Islands",
    "Echoes",
    "Kites",
    "Cities",
    "Waves",
    "Shadows",
    "Embers",
    "Roads",
    "Bells",
    "Storms",
    "Dreams",
    "Horses",
    "Letters",
];
const WORDS: [&str; 48] = [
    "Love",
    "Night",
    "Road",
    "Fire",
    "Rain",
    "Home",
    "Light",
    "Heart",
    "Summer",
    "River",
    "Dance",
    "Morning",
    "Stone",
    "Sky",
    "Ocean",
    "Shadow",
    "Train",
    "Winter",
    "Moon",
    "City",
    "Garden",
    "Echo",
    "Dream",
    "Window",
    "Thunder",
    "Silence",
    "Letter",
    "Mountain",
    "Highway",
    "Sugar",
    "Paradise",
    "Gravity",
    "Circus",
    "Harbor",
    "Velvet",
    "Desert",
    "Lullaby",
    "Midnight",
    "Carousel",
    "Postcard",
    "Satellite",
    "Memory",
    "Weather",
    "Kingdom",
    "Ribbon",
    "Lantern",
    "Compass",
    "Anthem",
];
const LINKS: [&str; 10] = [
    "of the",
    "in the",
    "and the",
    "on the",
    "for the",
    "under the",
    "after the",
    "beyond the",
    "to the",
    "from the",
];
const PLACES: [(&str, &str, &str); 16] = [
    ("Lisbon", "", "Portugal"),
    ("Porto", "", "Portugal"),
    ("Berlin", "", "Germany"),
    ("Munich", "Bavaria", "Germany"),
    ("Paris", "", "France"),
    ("Lyon", "", "France"),
    ("Oslo", "", "Norway"),
    ("Bergen", "", "Norway"),
    ("Prague", "", "Czech Republic"),
    ("Vienna", "", "Austria"),
    ("Toronto", "ON", "Canada"),
    ("Vancouver", "BC", "Canada"),
    ("Boston", "MA", "USA"),
    ("Austin", "TX", "USA"),
    ("Seattle", "WA", "USA"),
    ("Sydney", "NSW", "Australia"),
];
const STREETS: [&str; 12] = [
    "Main Street",
    "Harbor Road",
    "Rua das Flores",
    "Lindenallee",
    "Rue Lamartine",
    "Park Lane",
    "Mill Road",
    "Station Square",
    "Church Street",
    "Kingsway",
    "Elm Avenue",
    "Bakers Row",
];

fn title(rng: &mut Rng) -> String {
    match rng.range(0, 3) {
        0 => rng.pick(&WORDS).to_string(),
        1 => format!("{} {}", rng.pick(&ADJECTIVES), rng.pick(&WORDS)),
        2 => format!(
            "{} {} {}",
            rng.pick(&WORDS),
            rng.pick(&LINKS),
            rng.pick(&WORDS)
        ),
        _ => format!("The {} {}", rng.pick(&ADJECTIVES), rng.pick(&WORDS)),
    }
}

fn person(rng: &mut Rng) -> String {
    format!("{} {}", rng.pick(&FIRST), rng.pick(&LAST))
}

/// Cents, rounded half up, as the server module rounds.
pub fn cents(x: f64) -> f64 {
    ((x * 100.0) + 1e-9).round() / 100.0
}

/// One line's amount, tax and total (the server module's rule).
pub fn line_money(quantity: i64, unitprice: f64, taxrate: f64) -> (f64, f64, f64) {
    let amount = cents(quantity as f64 * unitprice);
    let tax = cents(amount * taxrate / 100.0);
    (amount, tax, cents(amount + tax))
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// `(field, value)` pairs of `item` as typed values; a name that is not a field is a bug here.
fn values(
    item: &Item,
    pairs: Vec<(&str, Value)>,
) -> Result<Vec<(jamrs_core::FieldId, Value)>, Error> {
    pairs
        .into_iter()
        .map(|(name, v)| {
            item.field_by_name(name).map(|f| (f.id, v)).ok_or_else(|| {
                Error::internal(format!("the demo has no field {}.{name}", item.name))
            })
        })
        .collect()
}

/// Inserts the demo's data into the database of `task` (a project made from the demo template,
/// migrated, still empty). Returns how many rows it inserted.
pub fn seed(task: &Task) -> Result<usize, Error> {
    let item = |name: &str| {
        task.item_by_name(name)
            .ok_or_else(|| Error::internal(format!("the demo has no item {name}")))
    };
    let (genres, artists, albums, tracks, customers, invoices, lines) = (
        item("genres")?,
        item("artists")?,
        item("albums")?,
        item("tracks")?,
        item("customers")?,
        item("invoices")?,
        item("invoice_table")?,
    );
    let mut rng = Rng(0x6a61_6d72_735f_6465);
    let engine = Engine::for_server(task, &NoHooks);
    Database::of(task).transaction(|conn| {
        {
            let mut count = 0;
            let mut insert =
                |item: &Item, rows: Vec<Vec<(&str, Value)>>| -> Result<Vec<i64>, Error> {
                    let mut ids = Vec::with_capacity(rows.len());
                    let mut changes = Vec::new();
                    for row in rows {
                        changes.push(Change::Insert {
                            values: values(item, row)?,
                            details: Vec::new(),
                        });
                    }
                    for chunk in changes.chunks(500) {
                        let results =
                            engine.apply(conn, item, chunk.to_vec(), Default::default(), false)?;
                        ids.extend(
                            results
                                .iter()
                                .filter_map(|r| r.id.as_ref().and_then(|k| k.as_i64())),
                        );
                    }
                    count += ids.len();
                    Ok(ids)
                };
            let genre_ids = insert(
                genres,
                GENRE_NAMES
                    .iter()
                    .map(|g| vec![("name", text(*g))])
                    .collect(),
            )?;
            let mut names = std::collections::BTreeSet::new();
            while names.len() < ARTISTS {
                let name = match rng.range(0, 2) {
                    0 => format!("The {} {}", rng.pick(&ADJECTIVES), rng.pick(&NOUNS)),
                    1 => person(&mut rng),
                    _ => format!(
                        "{} {}",
                        person(&mut rng),
                        rng.pick(&["Trio", "Quartet", "Band", "Ensemble"])
                    ),
                };
                names.insert(name);
            }
            let artist_ids = insert(
                artists,
                names
                    .iter()
                    .map(|n| vec![("name", text(n.clone()))])
                    .collect(),
            )?;
            let mut album_rows = Vec::new();
            let mut album_genre = Vec::new();
            for id in &artist_ids {
                for _ in 0..rng.range(1, 4) {
                    album_rows.push(vec![
                        ("title", text(title(&mut rng))),
                        ("artist", Value::Int(*id)),
                    ]);
                    album_genre.push(genre_ids[(rng.next() % 12) as usize]);
                }
            }
            let album_ids = insert(albums, album_rows)?;
            let mut track_rows = Vec::new();
            let mut prices = Vec::new();
            for (at, album) in album_ids.iter().enumerate() {
                let composer = person(&mut rng);
                for _ in 0..rng.range(5, 12) {
                    let video = rng.range(0, 30) == 0;
                    let media = if video {
                        3
                    } else {
                        [1, 1, 1, 2, 4, 5][rng.range(0, 5) as usize]
                    };
                    let ms = rng.range(95_000, 420_000);
                    let price = if video { 1.99 } else { 0.99 };
                    prices.push(price);
                    let genre = if rng.range(0, 5) == 0 {
                        genre_ids[rng.range(0, GENRES as i64 - 1) as usize]
                    } else {
                        album_genre[at]
                    };
                    track_rows.push(vec![
                        ("name", text(title(&mut rng))),
                        ("album", Value::Int(*album)),
                        ("media_type", Value::Int(media)),
                        ("genre", Value::Int(genre)),
                        ("composer", text(composer.clone())),
                        ("milliseconds", Value::Int(ms)),
                        (
                            "bytes",
                            Value::Int(ms * rng.range(28, 34) + rng.range(0, 9999)),
                        ),
                        ("unitprice", Value::Float(price)),
                    ]);
                }
            }
            let track_ids = insert(tracks, track_rows)?;
            let mut customer_rows = Vec::new();
            for i in 0..CUSTOMERS {
                let first = FIRST[i % FIRST.len()];
                let last = LAST[(i * 7 + 3) % LAST.len()];
                let (city, state, country) = PLACES[rng.range(0, PLACES.len() as i64 - 1) as usize];
                let mut row = vec![
                    ("firstname", text(first)),
                    ("lastname", text(last)),
                    (
                        "address",
                        text(format!("{} {}", rng.range(1, 180), rng.pick(&STREETS))),
                    ),
                    ("city", text(city)),
                    ("country", text(country)),
                    ("postalcode", text(format!("{:05}", rng.range(1000, 99999)))),
                    (
                        "phone",
                        text(format!(
                            "+{} {} {}",
                            rng.range(1, 99),
                            rng.range(100, 999),
                            rng.range(1000, 9999)
                        )),
                    ),
                    (
                        "email",
                        text(format!(
                            "{}.{}@example.com",
                            first.to_lowercase(),
                            last.to_lowercase()
                        )),
                    ),
                    ("support_rep_id", Value::Int(rng.range(3, 5))),
                ];
                if !state.is_empty() {
                    row.push(("state", text(state)));
                }
                if rng.range(0, 3) == 0 {
                    row.push((
                        "company",
                        text(format!(
                            "{} {}",
                            rng.pick(&ADJECTIVES),
                            rng.pick(&["Records", "Media", "Studios", "Sound", "Music"])
                        )),
                    ));
                }
                customer_rows.push(row);
            }
            let customer_ids = insert(customers, customer_rows)?;
            // Invoices from 2023 to 2025, about one every two or three days, with 1 to 12 lines.
            let mut changes = Vec::new();
            let mut day = 0i64;
            for _ in 0..INVOICES {
                day += rng.range(1, 4);
                let date = date_after(2023, day);
                let customer = customer_ids[rng.range(0, customer_ids.len() as i64 - 1) as usize];
                let taxrate = 5.0;
                let mut line_changes = Vec::new();
                for _ in 0..rng.range(1, 12) {
                    let t = rng.range(0, track_ids.len() as i64 - 1) as usize;
                    let quantity = if rng.range(0, 6) == 0 { 2 } else { 1 };
                    let (amount, tax, total) = line_money(quantity, prices[t], taxrate);
                    line_changes.push(Change::Insert {
                        values: values(
                            lines,
                            vec![
                                ("track", Value::Int(track_ids[t])),
                                ("quantity", Value::Int(quantity)),
                                ("unitprice", Value::Float(prices[t])),
                                ("amount", Value::Float(amount)),
                                ("tax", Value::Float(tax)),
                                ("total", Value::Float(total)),
                                ("invoice_date", text(date.clone())),
                                ("customer", Value::Int(customer)),
                            ],
                        )?,
                        details: Vec::new(),
                    });
                }
                changes.push(Change::Insert {
                    values: values(
                        invoices,
                        vec![
                            ("customer", Value::Int(customer)),
                            ("invoice_date", text(date)),
                            ("taxrate", Value::Float(taxrate)),
                            ("paid", Value::Bool(day < 900)),
                        ],
                    )?,
                    details: vec![DetailChanges {
                        item: lines.id,
                        changes: line_changes,
                    }],
                });
            }
            for chunk in changes.chunks(100) {
                let results =
                    engine.apply(conn, invoices, chunk.to_vec(), Default::default(), false)?;
                count += results.len()
                    + results
                        .iter()
                        .map(|r| r.details.iter().map(|(_, d)| d.len()).sum::<usize>())
                        .sum::<usize>();
            }
            Ok(count)
        }
    })
}

/// "YYYY-MM-DD" of `days` after the first of January of `year`.
fn date_after(year: i64, days: i64) -> String {
    let mut y = year;
    let mut d = days;
    loop {
        let len = if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
            366
        } else {
            365
        };
        if d < len {
            break;
        }
        d -= len;
        y += 1;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut m = 0;
    while d >= months[m] {
        d -= months[m];
        m += 1;
    }
    format!("{y:04}-{:02}-{:02}", m + 1, d + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_new_year() {
        assert_eq!(date_after(2023, 0), "2023-01-01");
        assert_eq!(date_after(2023, 58), "2023-02-28");
        assert_eq!(date_after(2024, 59), "2024-02-29");
        assert_eq!(date_after(2023, 365), "2024-01-01");
    }

    #[test]
    fn money_is_rounded_to_cents_half_up() {
        assert_eq!(line_money(2, 0.99, 5.0), (1.98, 0.1, 2.08));
        assert_eq!(line_money(1, 1.99, 5.0), (1.99, 0.1, 2.09));
        assert_eq!(cents(0.375), 0.38);
    }
}
