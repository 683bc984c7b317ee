"""What the book's chapters import besides the reference: bundled data sets and the plot style."""
