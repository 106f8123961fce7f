"""Detection: rules matched against normalized events, producing alerts."""
