"""Your own documents as a retrieval task: read (text extraction), chunk, relevance (qrels from answers), build."""
