"""What a person reads: the console summary and the plots."""
