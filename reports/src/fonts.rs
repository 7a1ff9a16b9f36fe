//! The one font every plot uses, bundled so that a fresh CI machine with no
//! system fonts renders the same pixels as a laptop.

use std::sync::Once;

use plotters::style::{register_font, FontStyle};

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Family name the plots ask for; plotters' own defaults also use it.
pub const FAMILY: &str = "sans-serif";

/// Registers the bundled font under [`FAMILY`], once per process.
pub fn ensure_registered() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // One face serves every style: a bold file would double the crate's
        // size for titles alone, and the title is set apart by its size.
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if register_font(FAMILY, style, DEJAVU_SANS).is_err() {
                panic!("the bundled DejaVu Sans font failed to parse");
            }
        }
    });
}
