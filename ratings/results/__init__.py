"""Study results read from the database: rating records, exports, splits and dataset releases."""
