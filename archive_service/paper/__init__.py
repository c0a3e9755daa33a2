"""Paper originals (纸质原件): where they are kept, their labels, and stocktakes (清查)."""
